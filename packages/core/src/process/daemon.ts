import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandRunner } from '../command/command-runner.js';
import { tail } from '../command/command-runner.js';
import { ClusterLabError } from '../errors/cluster-lab-error.js';
import { writeFileAtomic } from '../steps/journal.js';
import { type DaemonLog, daemonCommand, daemonLog, describeDaemonLog, logOffset, readDaemonOutput, rotateLog } from './daemon-log.js';

/** How to start a daemon with {@link startDaemon}. */
export interface DaemonSpec {
  file: string;
  args: readonly string[];
  /** Where the pid is written (and read back by {@link stopDaemon}). */
  pidFile: string;
  /** stdout+stderr of the daemon (in journal mode only what `systemd-cat` itself prints). */
  logFile: string;
  /**
   * The daemon's name in the journal, `cluster-lab-<logName>`. With it the daemon's output goes
   * to the systemd journal when this process runs under systemd (see {@link daemonLog}), else
   * to `logFile`; without it, always to `logFile`.
   */
  logName?: string;
  env?: Record<string, string | undefined>;
  /**
   * Resolves once the daemon is ready (socket answers, a line in its output…). Called repeatedly
   * every `pollMs` until it returns true or `readyTimeoutMs` passes. `output()` is what this run
   * of the daemon printed so far, from its log file or the journal.
   */
  ready?: (output: () => Promise<string>) => Promise<boolean>;
  readyTimeoutMs?: number;
  pollMs?: number;
  /** Human name for messages, e.g. "dnsmasq". */
  name?: string;
}

/** A running daemon started by {@link startDaemon}. */
export interface DaemonHandle {
  pid: number;
  pidFile: string;
  logFile: string;
  /** Where its output went (file or journal); undefined when it was already running. */
  log?: DaemonLog;
}

/** True when a process with `pid` exists (and is not a zombie). */
export async function isProcessAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch (error) {
    // Reaped between the two calls: gone. (Any other error: kill(0) said it exists.)
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * Identity of a running process that survives neither its exit nor a reboot: the boot id plus
 * the process start time (field 22 of /proc/<pid>/stat). A pid alone is reused — after a reboot
 * the pid in a stale pid file often names an unrelated process.
 */
async function processIdentity(pid: number): Promise<string | undefined> {
  try {
    const [stat, bootId] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile('/proc/sys/kernel/random/boot_id', 'utf8')]);
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = fields[19];
    return startTime ? `${startTime} ${bootId.trim()}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes a pid file: the pid on the first line (what other tools read), and on the second the
 * process identity that {@link readPidFile} checks, so a reused pid is not mistaken for the daemon.
 */
export async function writePidFile(pidFile: string, pid: number): Promise<void> {
  const identity = await processIdentity(pid);
  await mkdir(dirname(pidFile), { recursive: true });
  await writeFileAtomic(pidFile, identity ? `${pid}\n${identity}\n` : `${pid}\n`, 0o644);
}

/**
 * Reads a pid file; undefined when absent, unparsable, the process is gone, or the pid now
 * belongs to another process (the identity line written by {@link writePidFile} differs).
 */
export async function readPidFile(pidFile: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const [first = '', identity] = text.split('\n').map((l) => l.trim());
  if (!/^\d+$/.test(first)) return undefined;
  const pid = Number(first);
  if (pid <= 1 || !(await isProcessAlive(pid))) return undefined;
  if (identity && (await processIdentity(pid)) !== identity) return undefined;
  return pid;
}

/**
 * Starts a detached daemon (it outlives this process, as `cluster-lab start` exits after the
 * boot flow), records its pid, and waits for `ready`. A daemon that exits or never becomes
 * ready is killed and reported with the tail of its log. Idempotent: if the pid file names a
 * live process, that process is returned untouched.
 */
export async function startDaemon(runner: CommandRunner, spec: DaemonSpec): Promise<DaemonHandle & { started: boolean }> {
  const name = spec.name ?? spec.file;
  const existing = await readPidFile(spec.pidFile);
  if (existing !== undefined) return { pid: existing, pidFile: spec.pidFile, logFile: spec.logFile, started: false };
  await mkdir(dirname(spec.logFile), { recursive: true });
  const log: DaemonLog = spec.logName
    ? await daemonLog(spec.logName, spec.logFile)
    : { mode: 'file', identifier: '', logFile: spec.logFile };
  if (log.mode === 'file') await rotateLog(spec.logFile);
  const offset = await logOffset(log);
  const command = daemonCommand(spec.file, spec.args, log);
  const child = await runner.spawn(command.file, command.args, { detached: true, logFile: spec.logFile, env: spec.env });
  let exit: { exitCode: number | null; signal: string | null } | undefined;
  void child.exited.then((e) => {
    exit = e;
  });
  await writePidFile(spec.pidFile, child.pid);
  const handle = { pid: child.pid, pidFile: spec.pidFile, logFile: spec.logFile, log, started: true };
  if (!spec.ready) return handle;
  const ready = spec.ready;
  const output = () => readDaemonOutput(runner, log, child.pid, offset);
  const where = describeDaemonLog(log);
  const deadline = Date.now() + (spec.readyTimeoutMs ?? 10_000);
  const poll = spec.pollMs ?? 50;
  for (;;) {
    if (exit) {
      await rm(spec.pidFile, { force: true });
      const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`;
      throw new ClusterLabError('DAEMON_EXITED', `${name} exited right after start (${how}):\n${await outputTail(log, output)}`, {
        hint: `see ${where}`,
      });
    }
    if (await isReady(() => ready(output))) return handle;
    if (Date.now() >= deadline) {
      await stopDaemon(spec.pidFile, { timeoutMs: 3000 });
      throw new ClusterLabError(
        'DAEMON_NOT_READY',
        `${name} was not ready within ${spec.readyTimeoutMs ?? 10_000} ms:\n${await outputTail(log, output)}`,
        {
          hint: `see ${where}`,
        },
      );
    }
    await sleep(poll);
  }
}

/**
 * Stops the daemon named by `pidFile`: SIGTERM, wait up to `timeoutMs`, then SIGKILL; removes
 * the pid file. Returns false when nothing was running. Safe to call twice.
 */
export async function stopDaemon(pidFile: string, options: { timeoutMs?: number; signal?: NodeJS.Signals } = {}): Promise<boolean> {
  const pid = await readPidFile(pidFile);
  if (pid === undefined) {
    await rm(pidFile, { force: true });
    return false;
  }
  await killAndWait(pid, options.timeoutMs ?? 5000, options.signal ?? 'SIGTERM');
  await rm(pidFile, { force: true });
  return true;
}

/** How long {@link killAndWait} waits for a process to disappear after SIGKILL. */
export const SIGKILL_EXIT_WAIT_MS = 10_000;

/** Sends `signal`, waits for the process to exit, escalates to SIGKILL after `timeoutMs`. */
export async function killAndWait(pid: number, timeoutMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (await isProcessAlive(pid)) {
    if (Date.now() >= deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
      // SIGKILL cannot be ignored, but on a loaded machine the exit can take seconds (a process in
      // uninterruptible I/O); "stopped" must mean gone, so wait for it rather than for a guess.
      const hard = Date.now() + SIGKILL_EXIT_WAIT_MS;
      while ((await isProcessAlive(pid)) && Date.now() < hard) await sleep(20);
      return;
    }
    await sleep(20);
  }
}

/** A readiness probe that throws (connection refused, …) just means "not yet". */
async function isReady(ready: () => Promise<boolean>): Promise<boolean> {
  try {
    return await ready();
  } catch {
    return false;
  }
}

/** The last lines of what the daemon printed; in journal mode with what systemd-cat wrote to the log file (a failed connect). */
async function outputTail(log: DaemonLog, output: () => Promise<string>): Promise<string> {
  const printed = await output().catch(() => '');
  const own = log.mode === 'journal' ? await readFile(log.logFile, 'utf8').catch(() => '') : '';
  const text = `${own}${printed}`;
  return text.trim() ? tail(text, 15) : '(no output)';
}
