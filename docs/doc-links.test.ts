import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The guides a reader follows links through: README, docs/, each package's and the examples' README. */
function markdownFiles(): string[] {
  const inDir = (dir: string) =>
    existsSync(join(ROOT, dir))
      ? readdirSync(join(ROOT, dir))
          .filter((f) => f.endsWith('.md'))
          .map((f) => join(dir, f))
      : [];
  const packages = readdirSync(join(ROOT, 'packages')).map((p) => join('packages', p, 'README.md'));
  return ['README.md', 'CHANGELOG.md', ...inDir('docs'), ...inDir('examples'), ...packages].filter((f) => existsSync(join(ROOT, f)));
}

/** Markdown without code, where `](…)` is text, not a link. */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^(```|~~~)[\s\S]*?^\1/gm, '');
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of text.matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = slug(heading ?? '');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('links between the guides', () => {
  const files = markdownFiles();

  it.each(files)('%s: every relative link and #anchor resolves', (file) => {
    const broken: string[] = [];
    for (const [, target] of prose(readFileSync(join(ROOT, file), 'utf8')).matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)) {
      if (!target || /^[a-z]+:/i.test(target)) continue;
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const absolute = path ? resolve(ROOT, dirname(file), decodeURIComponent(path)) : join(ROOT, file);
      if (!existsSync(absolute)) {
        // Generated API docs (`npm run docs`) are not in the repository.
        if (!relative(ROOT, absolute).startsWith('docs/api')) broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor && absolute.endsWith('.md') && statSync(absolute).isFile() && !anchors(absolute).has(anchor))
        broken.push(`${target}: no heading with anchor #${anchor} in ${relative(ROOT, absolute)}`);
    }
    expect(broken).toEqual([]);
  });
});
