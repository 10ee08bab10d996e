import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as main from './index.js';

const SRC = fileURLToPath(new URL('.', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(path)));
    else if (e.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

describe('the test double stays out of the main entry', () => {
  it('exports no fake from @cluster-lab/consul', () => {
    const names = Object.keys(main);
    expect(names.filter((n) => /fake/i.test(n))).toEqual([]);
    expect(names).toContain('consulAgent');
  });

  it('no shipped module imports src/testing (only tests and the testing entry do)', async () => {
    const offenders: string[] = [];
    for (const file of await sources(SRC)) {
      const rel = relative(SRC, file);
      if (rel.startsWith('testing/') || rel.startsWith('test-support/') || /\.(int\.)?test\.ts$/.test(rel)) continue;
      if (/from '\.{1,2}\/(\.\.\/)*testing\//.test(await readFile(file, 'utf8'))) offenders.push(rel);
    }
    expect(offenders).toEqual([]);
  });
});
