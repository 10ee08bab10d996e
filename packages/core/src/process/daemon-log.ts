import { readFile, rename, stat } from 'node:fs/promises';
import type { CommandRunner } from '../command/command-runner.js';
import { findExecutable } from './find-executable.js';

/**
 * Where a daemon's output (stdout and stderr) goes: its log file in the state dir, or the systemd
 * journal under an identifier of its own (`journalctl -u cluster-lab -t cluster-lab-consul`).
 */
export type DaemonLogMode = 'file' | 'journal';

/** Environment variable that forces the mode: `journal` or `file` (anything else: detect). */
export const DAEMON_LOGS_ENV = 'CLUSTER_LAB_DAEMON_LOGS';

/**
 * Size at which a daemon's log file is rotated when the daemon starts (the old one becomes
 * `<file>.1`, replacing the previous `.1`): logs are kept across `stop` for post-mortems, and this
 * bounds them to about twice this per daemon. A Consul agent at INFO writes ~1 MiB in days.
 */
export const DAEMON_LOG_MAX_BYTES = 1024 * 1024;

/** What a daemon logs to, decided once per daemon start by {@link daemonLog}. */
export interface DaemonLog {
  mode: DaemonLogMode;
  /** Journal identifier (`SYSLOG_IDENTIFIER`), e.g. `cluster-lab-dnsmasq`. */
  identifier: string;
  /** The log file (file mode; in journal mode it receives only what `systemd-cat` itself says). */
  logFile: string;
}

/** The journal identifier of a Cluster Lab daemon: `cluster-lab-<name>`. */
export function daemonLogIdentifier(name: string): string {
  return `cluster-lab-${name}`;
}

/**
 * Decides where a daemon logs: the journal when this process runs under systemd (systemd sets
 * `INVOCATION_ID` for every unit it runs and `JOURNAL_STREAM` when its output goes to the
 * journal) and `systemd-cat` is installed; files otherwise — in the lab, in tests, by hand.
 * `CLUSTER_LAB_DAEMON_LOGS=journal|file` forces either.
 *
 * @example
 * ```ts
 * const log = await daemonLog('consul', '/var/lib/cluster-lab/consul/consul.log');
 * // under systemd: { mode: 'journal', identifier: 'cluster-lab-consul', logFile: … }
 * ```
 */
export async function daemonLog(
  name: string,
  logFile: string,
  env: Record<string, string | undefined> = process.env,
  hasSystemdCat: () => Promise<boolean> = async () => (await findExecutable('systemd-cat')) !== undefined,
): Promise<DaemonLog> {
  const identifier = daemonLogIdentifier(name);
  const forced = env[DAEMON_LOGS_ENV];
  let mode: DaemonLogMode;
  if (forced === 'journal' || forced === 'file') mode = forced;
  else mode = (env.INVOCATION_ID || env.JOURNAL_STREAM) && (await hasSystemdCat()) ? 'journal' : 'file';
  return { mode, identifier, logFile };
}

/**
 * The command that runs `file args` with its output where `log` says. In journal mode that is
 * `systemd-cat --identifier=<id> -- file args…`: systemd-cat connects stdout and stderr to a
 * journald stream and execs the program, so the pid is the daemon's own and journald files the
 * lines under the unit of the process that started it (`-u cluster-lab`).
 */
export function daemonCommand(file: string, args: readonly string[], log: DaemonLog): { file: string; args: string[] } {
  if (log.mode === 'file') return { file, args: [...args] };
  return { file: 'systemd-cat', args: [`--identifier=${log.identifier}`, '--', file, ...args] };
}

/** Where a user reads a daemon's output, for messages and hints. */
export function describeDaemonLog(log: DaemonLog): string {
  return log.mode === 'journal' ? `journalctl -u cluster-lab -t ${log.identifier}` : log.logFile;
}

/** The size of the log file now: where a new run's output will start (file mode). */
export async function logOffset(log: DaemonLog): Promise<number> {
  if (log.mode === 'journal') return 0;
  return stat(log.logFile).then(
    (s) => s.size,
    () => 0,
  );
}

/**
 * What the daemon `pid` printed: in file mode the log file from `offset` on, in journal mode its
 * entries (`journalctl --identifier=<id> _PID=<pid> --output=cat`). Empty when there is nothing
 * (yet). Used to see a daemon's ready line and to quote its last lines in errors.
 */
export async function readDaemonOutput(runner: CommandRunner, log: DaemonLog, pid: number, offset = 0): Promise<string> {
  if (log.mode === 'file') {
    const text = await readFile(log.logFile).catch(() => Buffer.alloc(0));
    return text.subarray(offset).toString('utf8');
  }
  const result = await runner.run(
    'journalctl',
    ['--no-pager', '--quiet', '--boot', `--identifier=${log.identifier}`, `_PID=${pid}`, '--output=cat'],
    { reject: false, timeoutMs: 5_000 },
  );
  return result.exitCode === 0 ? result.stdout : '';
}

/**
 * The last `lines` lines a daemon printed, whichever run: the end of its log file, or its
 * journal entries (`journalctl --identifier=<id> --lines=<n>`). Empty when there are none.
 */
export async function tailDaemonOutput(runner: CommandRunner, log: DaemonLog, lines: number): Promise<string> {
  if (log.mode === 'file') {
    const text = await readFile(log.logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  }
  const result = await runner.run(
    'journalctl',
    ['--no-pager', '--quiet', `--identifier=${log.identifier}`, `--lines=${lines}`, '--output=cat'],
    { reject: false, timeoutMs: 5_000 },
  );
  return result.exitCode === 0 ? result.stdout.trimEnd() : '';
}

/**
 * Rotates `file` when it has grown past `maxBytes`: it becomes `<file>.1` (replacing an older
 * one), and the daemon starts a fresh file. Call before starting the daemon. Absent files are fine.
 */
export async function rotateLog(file: string, maxBytes = DAEMON_LOG_MAX_BYTES): Promise<boolean> {
  const size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  if (size <= maxBytes) return false;
  await rename(file, `${file}.1`);
  return true;
}
