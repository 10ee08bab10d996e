import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isClusterLabError } from '../errors/cluster-lab-error.js';
import { acquireStateLock, readStateLockHolder, STATE_LOCK_FILE, type StateLockHolder, withStateLock } from './state-lock.js';

let root: string;
let children: ChildProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cl-state-lock-'));
});
afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit') : undefined)));
  children = [];
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirs = 0;
const freshDir = () => join(root, `state-${++dirs}`);

/**
 * Another process holding the lock the way withStateLock does: it opens the lock file, has
 * `flock` lock it through an inherited descriptor, writes its record, and keeps the file open.
 */
async function foreignHolder(stateDir: string, command: string): Promise<ChildProcess> {
  await mkdir(stateDir, { recursive: true });
  const script = `
    const fs = require('node:fs');
    const { spawnSync } = require('node:child_process');
    const fd = fs.openSync(process.argv[1], 'a+');
    const r = spawnSync('flock', ['-x', '-n', '3'], { stdio: ['ignore', 'ignore', 'inherit', fd] });
    if (r.status !== 0) process.exit(9);
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, JSON.stringify({ pid: process.pid, command: process.argv[2], since: new Date().toISOString() }), 0);
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script, join(stateDir, STATE_LOCK_FILE), command], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const [data] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  expect(data.toString()).toBe('locked\n');
  return child;
}

describe('withStateLock (flock on <stateDir>/run.lock, real files)', () => {
  it('creates the state dir, records the holder while fn runs, and leaves no trace after', async () => {
    const dir = freshDir();
    let during: StateLockHolder | undefined;
    const value = await withStateLock(
      dir,
      async () => {
        during = await readStateLockHolder(dir);
        return 42;
      },
      { command: 'cluster-lab start' },
    );
    expect(value).toBe(42);
    expect(during).toMatchObject({ pid: process.pid, command: 'cluster-lab start' });
    // The dir was created for the lock only: both are gone.
    await expect(readdir(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps a state dir that holds something else (a journal), removing only the lock file', async () => {
    const dir = freshDir();
    await withStateLock(dir, () => writeFile(join(dir, 'journal.json'), '{}'), { command: 'cluster-lab start' });
    expect(await readdir(dir)).toEqual(['journal.json']);
  });

  it('a second run waits, tells once who holds the lock, then fails naming its pid and command', async () => {
    const dir = freshDir();
    const holder = await foreignHolder(dir, 'cluster-lab stop');
    const seen: (StateLockHolder | undefined)[] = [];
    const started = Date.now();
    const error = await withStateLock(dir, async () => 'ran', { waitMs: 400, onWait: (h) => seen.push(h) }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(isClusterLabError(error) && error.code).toBe('STATE_LOCKED');
    expect((error as Error).message).toContain(`pid ${holder.pid} (\`cluster-lab stop\``);
    expect((error as { hint: string }).hint).toContain(`kill ${holder.pid}`);
    expect(seen).toEqual([expect.objectContaining({ pid: holder.pid, command: 'cluster-lab stop' })]);
  });

  it('gets the lock as soon as the holder exits — even when it was killed with SIGKILL', async () => {
    const dir = freshDir();
    const holder = await foreignHolder(dir, 'cluster-lab start');
    const waiting = withStateLock(dir, async () => readStateLockHolder(dir), { waitMs: 10_000, command: 'cluster-lab stop' });
    await sleep(300);
    const killedAt = Date.now();
    holder.kill('SIGKILL');
    const now = await waiting;
    expect(now).toMatchObject({ pid: process.pid, command: 'cluster-lab stop' });
    expect(Date.now() - killedAt).toBeLessThan(2_000);
  });

  it('a holder that died without releasing leaves a file but no lock: the next run takes it at once', async () => {
    const dir = freshDir();
    const holder = await foreignHolder(dir, 'cluster-lab start');
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    expect(await readStateLockHolder(dir)).toMatchObject({ pid: holder.pid });
    expect(await withStateLock(dir, async () => 'ran', { waitMs: 0 })).toBe('ran');
  });

  it('runs callers of one process one at a time, also while each release removes the file and the dir', async () => {
    const dir = freshDir();
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        withStateLock(
          dir,
          async () => {
            inside++;
            most = Math.max(most, inside);
            await sleep(20);
            order.push(n);
            inside--;
          },
          { waitMs: 10_000 },
        ),
      ),
    );
    expect(most).toBe(1);
    expect(order.sort()).toEqual([1, 2, 3, 4, 5]);
    await expect(readdir(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('is re-entrant within one call chain (restart = stop + start under one lock), not across chains', async () => {
    const dir = freshDir();
    const inner = await withStateLock(dir, () => withStateLock(dir, async () => 'nested', { waitMs: 0 }), { waitMs: 0 });
    expect(inner).toBe('nested');
    const outer = await acquireStateLock(dir, { waitMs: 0 });
    try {
      // Not inside the holder's chain: an independent caller of this process has to wait.
      await expect(withStateLock(dir, async () => 'x', { waitMs: 150 })).rejects.toMatchObject({ code: 'STATE_LOCKED' });
    } finally {
      await outer.release();
    }
  });

  it('stops waiting when its signal aborts', async () => {
    const dir = freshDir();
    await foreignHolder(dir, 'cluster-lab start');
    const controller = new AbortController();
    const waiting = withStateLock(dir, async () => 'ran', { waitMs: 10_000, signal: controller.signal });
    await sleep(150);
    controller.abort(new Error('interrupted'));
    await expect(waiting).rejects.toThrow('interrupted');
  });
});
