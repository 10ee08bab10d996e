import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterLabError } from '../errors/cluster-lab-error.js';
import { Journal, writeFileAtomic } from './journal.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-core-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = (key: string) => ({ kind: 'address-added', key, step: 'leader-address', data: { dev: 'eth0.200', cidr: key } });

describe('Journal', () => {
  it('opens empty when no file exists and writes nothing until the first change', async () => {
    const path = join(dir, 'state', 'journal.json');
    const journal = await Journal.open(path);
    expect(journal.exists).toBe(false);
    expect(journal.status).toBe('starting');
    expect(journal.entries).toEqual([]);
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('persists entries (once per kind+key), status and facts, and reads them back', async () => {
    const path = join(dir, 'state', 'journal.json');
    const journal = await Journal.open(path);
    await journal.record(entry('192.168.200.1/24'));
    await journal.record(entry('192.168.200.1/24'));
    await journal.record({ kind: 'link-created', key: 'vx200', step: 'cluster-link', data: { name: 'vx200' } });
    await journal.setStatus('running');
    await journal.setFacts({ role: 'leader' });
    await journal.setFacts({ link: 'vx200' });
    expect(journal.exists).toBe(true);
    expect(journal.has('link-created', 'vx200')).toBe(true);
    expect(journal.has('link-created', 'vx201')).toBe(false);

    const again = await Journal.open(path);
    expect(again.status).toBe('running');
    expect(again.facts).toEqual({ role: 'leader', link: 'vx200' });
    expect(again.entries.map((e) => `${e.kind} ${e.key}`)).toEqual(['address-added 192.168.200.1/24', 'link-created vx200']);
    expect(again.entries[0]?.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const doc = JSON.parse(await readFile(path, 'utf8'));
    expect(doc).toMatchObject({ version: 1, status: 'running' });

    await again.forget('address-added', '192.168.200.1/24');
    expect((await Journal.open(path)).entries.map((e) => e.key)).toEqual(['vx200']);
  });

  it('keeps the file private and leaves no temp files behind, even with overlapping writes', async () => {
    const path = join(dir, 'journal.json');
    const journal = await Journal.open(path);
    await Promise.all(Array.from({ length: 25 }, (_, i) => journal.record(entry(`10.0.0.${i}/24`))));
    expect(await readdir(dir)).toEqual(['journal.json']);
    const reread = await Journal.open(path);
    expect(reread.entries).toHaveLength(25);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('deletes the file and starts over', async () => {
    const path = join(dir, 'journal.json');
    const journal = await Journal.open(path);
    await journal.record(entry('a'));
    await journal.delete();
    expect(journal.exists).toBe(false);
    expect(journal.entries).toEqual([]);
    await journal.delete();
    expect((await Journal.open(path)).exists).toBe(false);
  });

  it.each([
    ['truncated JSON', '{"version":1,"entries":['],
    ['empty file', ''],
    ['wrong version', '{"version":2,"entries":[]}'],
    ['entries not a list', '{"version":1,"entries":{}}'],
    ['not an object', 'null'],
  ])('reports a corrupt journal (%s) as JOURNAL_CORRUPT with a hint', async (_, content) => {
    const path = join(dir, 'journal.json');
    await writeFile(path, content);
    const error = await Journal.open(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterLabError);
    expect(error).toMatchObject({ code: 'JOURNAL_CORRUPT' });
    expect((error as Error).message).toContain(`the journal ${path} cannot be read: `);
    expect((error as ClusterLabError).hint).toContain('cluster-lab stop --force');
  });

  it('reports an unreadable journal (a directory) as JOURNAL_UNREADABLE', async () => {
    const path = join(dir, 'journal.json');
    await mkdir(path);
    await expect(Journal.open(path)).rejects.toMatchObject({ code: 'JOURNAL_UNREADABLE' });
  });
});

describe('writeFileAtomic', () => {
  it('replaces the content in one step and applies the mode to new files', async () => {
    const path = join(dir, 'f.txt');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two', 0o644);
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['f.txt']);
  });

  it('leaves the old content and no temp file when the write fails', async () => {
    const path = join(dir, 'f.txt');
    await writeFileAtomic(path, 'old');
    await chmod(dir, 0o500);
    try {
      // Root ignores directory permissions; fall back to a missing parent directory then.
      const target = process.getuid?.() === 0 ? join(dir, 'missing', 'f.txt') : path;
      await expect(writeFileAtomic(target, 'new')).rejects.toMatchObject({ code: expect.stringMatching(/EACCES|ENOENT/) });
    } finally {
      await chmod(dir, 0o700);
    }
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['f.txt']);
  });
});
