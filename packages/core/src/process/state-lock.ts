import { AsyncLocalStorage } from 'node:async_hooks';
import { type FileHandle, mkdir, open, readFile, rmdir, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandRunner } from '../command/command-runner.js';
import { ExecaRunner } from '../command/execa-runner.js';
import { ClusterLabError } from '../errors/cluster-lab-error.js';

/** Name of the lock file inside the state dir (removed again when the lock is released). */
export const STATE_LOCK_FILE = 'run.lock';

/**
 * How long a second `start`/`stop`/`restart` waits for the run holding the state dir before it
 * gives up: longer than a `stop` (≤ 3 s) and most of a `start`, short enough that a person who
 * typed the command is told what is going on instead of watching a silent terminal.
 */
export const STATE_LOCK_WAIT_MS = 10_000;

/** How often a waiting run tries the lock again. */
export const STATE_LOCK_POLL_MS = 100;

/** The run holding a state dir, as it wrote itself into the lock file. */
export interface StateLockHolder {
  pid: number;
  /** What it runs, e.g. `cluster-lab stop`. */
  command: string;
  /** When it took the lock (ISO 8601). */
  since: string;
}

/** Options of {@link withStateLock} and {@link acquireStateLock}. */
export interface StateLockOptions {
  /** How long to wait for another holder; default {@link STATE_LOCK_WAIT_MS}. 0: fail at once. */
  waitMs?: number;
  /** What this run is, for the message another waiting run prints; default `node <script>`. */
  command?: string;
  /** Runs `flock`; default a new `ExecaRunner`. */
  runner?: CommandRunner;
  /** Called once when the lock is busy and the wait begins (to tell the user who holds it). */
  onWait?: (holder: StateLockHolder | undefined) => void;
  /** Stops waiting (the acquire rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** A held state-dir lock. */
export interface StateLock extends AsyncDisposable {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock file (and the state dir when nothing else is in it), then releases. Safe twice. */
  release(): Promise<void>;
}

/** State dirs the current async context holds, so a nested `withStateLock` of the same dir runs at once. */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

/**
 * Runs `fn` while holding the lock of `stateDir`, so only one `start`/`stop`/`restart` (or a
 * supervisor's journal write) acts on a node at a time. A second caller waits up to `waitMs`,
 * then throws `STATE_LOCKED` naming the holder's pid and command. Re-entrant within one async
 * call chain (a `restart` that stops and starts under one lock).
 *
 * The lock is `flock(2)` on `<stateDir>/run.lock`, taken with util-linux's (or busybox's)
 * `flock` on a descriptor this process keeps open: the kernel releases it when the process
 * ends in any way (crash, SIGKILL, power loss — nothing stale to clean up), unlike lock
 * directories or pid files (proper-lockfile and the like), whose owner's death is only guessed
 * after a staleness timeout.
 *
 * @example
 * ```ts
 * await withStateLock(config.stateDir, () => stopNode(node, { services }), { command: 'cluster-lab stop' });
 * ```
 */
export async function withStateLock<T>(stateDir: string, fn: () => Promise<T>, options: StateLockOptions = {}): Promise<T> {
  const dir = resolve(stateDir);
  const outer = held.getStore();
  if (outer?.has(dir)) return fn();
  const lock = await acquireStateLock(dir, options);
  try {
    return await held.run(new Set([...(outer ?? []), dir]), fn);
  } finally {
    await lock.release();
  }
}

/**
 * Takes the lock of `stateDir` (creating the dir, mode 0700, when absent) and writes this
 * process's pid and command into it; see {@link withStateLock}. Prefer `withStateLock`, or
 * `await using lock = await acquireStateLock(dir)`.
 */
export async function acquireStateLock(stateDir: string, options: StateLockOptions = {}): Promise<StateLock> {
  const dir = resolve(stateDir);
  const path = join(dir, STATE_LOCK_FILE);
  const runner = options.runner ?? new ExecaRunner();
  const waitMs = options.waitMs ?? STATE_LOCK_WAIT_MS;
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const handle = await openLockFile(dir, path);
    let locked = false;
    try {
      locked = await tryFlock(runner, handle, options.signal);
      // The holder before us may have removed the file (release unlinks it): our descriptor then
      // names a file nobody else will open, so the lock it got guards nothing. Start over.
      if (locked && (await isCurrentFile(handle, path))) {
        await writeHolder(handle, options.command);
        return heldLock(handle, dir, path);
      }
    } catch (error) {
      await handle.close();
      throw options.signal?.aborted ? options.signal.reason : error;
    }
    await handle.close();
    if (locked) continue;
    const holder = await readStateLockHolder(dir);
    if (Date.now() >= deadline) throw lockedError(dir, holder, waitMs);
    if (!told) {
      told = true;
      options.onWait?.(holder);
    }
    await sleep(Math.min(STATE_LOCK_POLL_MS, Math.max(0, deadline - Date.now())), undefined, { signal: options.signal }).catch(
      (error: unknown) => {
        throw options.signal?.aborted ? options.signal.reason : error;
      },
    );
  }
}

/** Who holds the lock of `stateDir`, from its lock file; undefined when nobody (or an unreadable file). */
export async function readStateLockHolder(stateDir: string): Promise<StateLockHolder | undefined> {
  try {
    const value = JSON.parse(await readFile(join(resolve(stateDir), STATE_LOCK_FILE), 'utf8')) as Partial<StateLockHolder>;
    if (typeof value.pid !== 'number' || typeof value.command !== 'string' || typeof value.since !== 'string') return undefined;
    return { pid: value.pid, command: value.command, since: value.since };
  } catch {
    return undefined;
  }
}

async function openLockFile(dir: string, path: string): Promise<FileHandle> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    // 'a+': create without truncating — the holder's record must stay readable for waiters.
    return await open(path, 'a+', 0o600);
  } catch (error) {
    // The holder removed the dir between our mkdir and open (its release after a stop).
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return openLockFile(dir, path);
    throw error;
  }
}

/** `flock -x -n 3` on our descriptor: true when we got the lock, false when another holds it. */
async function tryFlock(runner: CommandRunner, handle: FileHandle, signal: AbortSignal | undefined): Promise<boolean> {
  const result = await runner.run('flock', ['-x', '-n', '3'], {
    fds: [handle.fd],
    reject: false,
    timeoutMs: 10_000,
    ...(signal ? { signal } : {}),
  });
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  throw new ClusterLabError('STATE_LOCK_FAILED', `\`${result.command}\` failed (exit code ${result.exitCode}): ${result.stderr.trim()}`, {
    hint: 'flock comes with util-linux (or busybox); check that it works on this system',
    errorClass: 'dependency',
  });
}

async function isCurrentFile(handle: FileHandle, path: string): Promise<boolean> {
  const [ours, named] = await Promise.all([handle.stat(), stat(path).catch(() => undefined)]);
  return named !== undefined && named.ino === ours.ino && named.dev === ours.dev;
}

async function writeHolder(handle: FileHandle, command: string | undefined): Promise<void> {
  const holder: StateLockHolder = {
    pid: process.pid,
    command: command ?? ['node', ...process.argv.slice(1, 3)].join(' '),
    since: new Date().toISOString(),
  };
  await handle.truncate(0);
  await handle.write(`${JSON.stringify(holder)}\n`, 0);
}

function heldLock(handle: FileHandle, dir: string, path: string): StateLock {
  let released: Promise<void> | undefined;
  const release = () => {
    released ??= (async () => {
      // Removed while still held, so no one can lock this file after we let go (see isCurrentFile).
      await unlink(path).catch(() => {});
      // The dir too when nothing is in it: a stop (or a start that rolled back) leaves no trace.
      await rmdir(dir).catch(() => {});
      await handle.close();
    })();
    return released;
  };
  return { path, release, [Symbol.asyncDispose]: release };
}

function lockedError(dir: string, holder: StateLockHolder | undefined, waitMs: number): ClusterLabError {
  const who = holder
    ? `pid ${holder.pid} (\`${holder.command}\`, running for ${Math.max(0, Math.round((Date.now() - Date.parse(holder.since)) / 1000))} s)`
    : 'another process (it did not record its pid yet)';
  return new ClusterLabError('STATE_LOCKED', `${dir} is in use by ${who}; waited ${(waitMs / 1000).toFixed(0)} s`, {
    hint: holder
      ? `wait for it to finish and run this again (it releases the lock when it exits), or end it: kill ${holder.pid}`
      : 'wait for the other cluster-lab run to finish and run this again',
  });
}
