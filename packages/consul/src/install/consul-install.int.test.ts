import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatConsulVersion } from '../version/consul-version.js';
import { debianConsulPath, installDebianConsul } from './consul-install.js';

/** What apt keeps of the machine's own configuration and state: must not change. */
async function aptSnapshot(): Promise<string[]> {
  const out: string[] = [];
  for (const dir of ['/etc/apt', '/etc/apt/sources.list.d', '/var/lib/apt/lists']) {
    for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
      const s = await stat(join(dir, name)).catch(() => undefined);
      out.push(`${dir}/${name} ${s?.size} ${s?.mtimeMs}`);
    }
  }
  return out;
}

describe.skipIf(skipUnlessRoot())("installDebianConsul against Debian's archive", () => {
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'consul-install-'));
  });
  afterAll(() => rm(cache, { recursive: true, force: true }));

  it("installs bullseye's 1.8.7 for this architecture into the cache, leaving the machine's apt untouched; then reuses it", async () => {
    const before = await aptSnapshot();
    const runner = new ExecaRunner();
    const first = await installDebianConsul({ runner, cacheDir: cache });
    expect(first.binary).toBe(debianConsulPath(cache));
    expect(first.downloaded).toBe(true);
    expect(formatConsulVersion(first.version)).toBe('1.8.7');
    expect((await runner.run(first.binary, ['version'])).stdout.split('\n')[0]).toBe('Consul v1.8.7');
    expect(await aptSnapshot()).toEqual(before);
    const again = await installDebianConsul({ runner, cacheDir: cache });
    expect(again.downloaded).toBe(false);
  }, 180_000);
});
