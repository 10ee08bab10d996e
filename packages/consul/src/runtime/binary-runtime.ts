import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CommandRunner,
  type DaemonLog,
  daemonCommand,
  daemonLog,
  describeDaemonLog,
  type EventSink,
  ignoreEvents,
  isProcessAlive,
  killAndWait,
  logOffset,
  readDaemonOutput,
  readPidFile,
  rotateLog,
  type SpawnedProcess,
  stopDaemon,
  tail,
  tailDaemonOutput,
  writePidFile,
} from '@cluster-lab/core';
import { consulError, formatDuration } from '../consul-errors.js';
import { type ConsulVersion, parseConsulVersion } from '../version/consul-version.js';
import {
  CONSUL_LEAVE_POLL_MS,
  CONSUL_READY_LINE,
  CONSUL_READY_POLL_MS,
  type ConsulRuntime,
  type ConsulRuntimeStatus,
  type ConsulStartSpec,
  type ConsulStopOptions,
  DEFAULT_READY_TIMEOUT_MS,
} from './consul-runtime.js';

/** Options of {@link BinaryRuntime}. */
export interface BinaryRuntimeOptions {
  /** Runs the executable (use a node's runner in the lab). */
  runner: CommandRunner;
  /** The `consul` executable: a name on PATH or an absolute path. Default `consul`. */
  binary?: string;
  /** Directory for `consul.pid` and `consul.log` (e.g. `<stateDir>/consul`). */
  runDir: string;
  events?: EventSink;
  /** How long `stop` waits after SIGTERM (graceful leave) or SIGINT before SIGKILL. Default 15 s. */
  stopTimeoutMs?: number;
}

/**
 * How long `stop` lets an agent leave gracefully when nothing cuts the leave short (no `left`
 * check, or it never says done). A 1.8.7 server needs ~4–5 s alone (~3 s of leave propagation
 * plus `leave_drain_time`, 1 s, see `CONSUL_LEAVE_DRAIN_TIME`) and up to ~12 s when every server
 * leaves at once (each waits up to 5 s to be removed from Raft by a leader that is leaving too).
 */
const DEFAULT_STOP_TIMEOUT_MS = 15_000;

/** The run in progress, from {@link BinaryRuntime.begin} until it is running. */
interface PendingRun {
  child: SpawnedProcess;
  exit: { exitCode: number | null; signal: string | null } | undefined;
  /** Where its output goes (log file or journal). */
  log: DaemonLog;
  /** Where this run's output starts in the log, so an earlier run's ready line does not count. */
  logOffset: number;
}

/**
 * Runs the host's `consul` executable as a detached daemon (it outlives `cluster-lab start`):
 * `consul agent -config-file=<file>`, pid in `<runDir>/consul.pid`, output in
 * `<runDir>/consul.log` — or, under systemd, in the journal as `cluster-lab-consul` (see
 * `daemonLog`). Ready when the agent logs "Consul agent running!". The log is kept after `stop`
 * and rotated at each start.
 *
 * @example
 * ```ts
 * const runtime = new BinaryRuntime({ runner: new ExecaRunner(), runDir: '/var/lib/cluster-lab/consul' });
 * await runtime.start({ configFile, dataDir, nodeName: 'pi1' });
 * ```
 */
export class BinaryRuntime implements ConsulRuntime {
  readonly kind = 'binary' as const;
  readonly binary: string;
  readonly pidFile: string;
  readonly logFile: string;
  private readonly events: EventSink;
  private pending: PendingRun | undefined;
  private detected: Promise<ConsulVersion | undefined> | undefined;

  constructor(private readonly options: BinaryRuntimeOptions) {
    this.binary = options.binary ?? 'consul';
    this.pidFile = join(options.runDir, 'consul.pid');
    this.logFile = join(options.runDir, 'consul.log');
    this.events = options.events ?? ignoreEvents;
  }

  describe(): string {
    return `binary ${this.binary} (pid file ${this.pidFile})`;
  }

  /**
   * The executable's version, or undefined when it is not installed. Equivalent to
   * `consul version -format=json` (`consul version` for agents too old to know `-format`).
   * Asked once per runtime.
   */
  installedVersion(): Promise<ConsulVersion | undefined> {
    this.detected ??= this.detectVersion();
    return this.detected;
  }

  async version(): Promise<ConsulVersion> {
    const version = await this.installedVersion();
    if (!version) throw this.notInstalled();
    return version;
  }

  private async detectVersion(): Promise<ConsulVersion | undefined> {
    const { runner } = this.options;
    try {
      const json = await runner.run(this.binary, ['version', '-format=json'], { timeoutMs: 10_000, reject: false });
      if (json.exitCode === 0) return parseConsulVersion(json.stdout, `${this.binary} version -format=json`);
      if (json.exitCode === 127) return undefined;
      const text = await runner.run(this.binary, ['version'], { timeoutMs: 10_000 });
      return parseConsulVersion(text.stdout, `${this.binary} version`);
    } catch (error) {
      if (isMissingProgram(error)) return undefined;
      throw error;
    }
  }

  async start(spec: ConsulStartSpec): Promise<{ started: boolean }> {
    const begun = await this.begin(spec);
    await this.waitRunning(spec.readyTimeoutMs);
    return begun;
  }

  async begin(spec: ConsulStartSpec): Promise<{ started: boolean }> {
    if ((await readPidFile(this.pidFile)) !== undefined) return { started: false };
    await mkdir(dirname(this.logFile), { recursive: true });
    const log = await daemonLog('consul', this.logFile);
    if (log.mode === 'file') await rotateLog(this.logFile);
    const offset = await logOffset(log);
    const command = daemonCommand(this.binary, ['agent', `-config-file=${spec.configFile}`], log);
    let child: SpawnedProcess;
    try {
      child = await this.options.runner.spawn(command.file, command.args, {
        detached: true,
        logFile: this.logFile,
      });
    } catch (error) {
      if (isMissingProgram(error)) throw this.notInstalled(error);
      throw error;
    }
    const run: PendingRun = { child, exit: undefined, log, logOffset: offset };
    void child.exited.then((e) => {
      run.exit = e;
    });
    this.pending = run;
    await writePidFile(this.pidFile, child.pid);
    this.events({ type: 'log', level: 'info', message: `started consul agent (pid ${child.pid})`, source: 'consul' });
    return { started: true };
  }

  async waitRunning(timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
    const run = this.pending;
    // Not started by this runtime object (it was already running): nothing to wait for.
    if (!run) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (run.exit) {
        this.pending = undefined;
        await stopDaemon(this.pidFile, { timeoutMs: 1000 });
        const how = run.exit.signal ? `killed by ${run.exit.signal}` : `exit code ${run.exit.exitCode}`;
        if (run.exit.exitCode === 127) throw this.notInstalled();
        throw consulError('CONSUL_START_FAILED', `consul exited right after start (${how}):\n${await this.runOutput(run)}`, {
          hint: `see ${describeDaemonLog(run.log)}`,
        });
      }
      if ((await readDaemonOutput(this.options.runner, run.log, run.child.pid, run.logOffset)).includes(CONSUL_READY_LINE)) {
        this.pending = undefined;
        return;
      }
      if (Date.now() >= deadline) {
        this.pending = undefined;
        await this.stop();
        throw consulError(
          'CONSUL_START_FAILED',
          `consul was not running within ${formatDuration(timeoutMs)}:\n${await this.runOutput(run)}`,
          {
            hint: `see ${describeDaemonLog(run.log)}`,
          },
        );
      }
      await new Promise((r) => setTimeout(r, CONSUL_READY_POLL_MS));
    }
  }

  async stop(options: ConsulStopOptions = {}): Promise<boolean> {
    this.pending = undefined;
    const pid = await readPidFile(this.pidFile);
    if (pid === undefined) {
      await rm(this.pidFile, { force: true });
      return false;
    }
    const timeoutMs = this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const started = performance.now();
    let how = 'graceful leave';
    if (options.leave === 'none') {
      await killAndWait(pid, timeoutMs, 'SIGINT');
      how = 'no leave: the whole cluster is stopping';
    } else if (options.left) {
      const leftAfter = await leaveThenExit(pid, timeoutMs, options.left);
      if (leftAfter !== undefined) how = `left the cluster in ${leftAfter} ms, then ended its shutdown`;
    } else {
      await killAndWait(pid, timeoutMs, 'SIGTERM');
    }
    await rm(this.pidFile, { force: true });
    const ms = Math.round(performance.now() - started);
    this.events({ type: 'log', level: 'info', message: `stopped consul agent in ${ms} ms (${how})`, source: 'consul' });
    return true;
  }

  async status(): Promise<ConsulRuntimeStatus> {
    const pid = await readPidFile(this.pidFile);
    return pid === undefined
      ? { running: false, detail: 'consul agent not running' }
      : { running: true, pid, detail: `consul agent running (pid ${pid})` };
  }

  async logs(lines = 100): Promise<string> {
    return tailDaemonOutput(this.options.runner, await daemonLog('consul', this.logFile), lines);
  }

  /** The last lines one run printed, for errors; in journal mode with what systemd-cat itself wrote. */
  private async runOutput(run: PendingRun): Promise<string> {
    const printed = await readDaemonOutput(this.options.runner, run.log, run.child.pid, run.logOffset).catch(() => '');
    const own = run.log.mode === 'journal' ? await readFile(this.logFile, 'utf8').catch(() => '') : '';
    return tail(`${own}${printed}`, 15);
  }

  private notInstalled(cause?: unknown) {
    return consulError('CONSUL_NOT_INSTALLED', `the consul executable "${this.binary}" was not found`, {
      hint: 'run `sudo bash scripts/setup.sh` or `cluster-lab dependencies --install` (Debian 11 build 1.8.7), install Consul ≥ 1.8 and set consul.binary, or use consul.runtime: container',
      errorClass: 'dependency',
      ...(cause ? { cause } : {}),
    });
  }
}

/**
 * SIGTERM (the agent leaves), then — as soon as `left` says the leave has done its part — a
 * second SIGTERM, which Consul answers with "Caught second signal, Exiting": it skips the rest of
 * its graceful shutdown. An agent that finishes by itself first is fine; one still running at
 * `timeoutMs` is killed.
 */
async function leaveThenExit(pid: number, timeoutMs: number, left: () => Promise<boolean>): Promise<number | undefined> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return undefined;
  }
  while (await isProcessAlive(pid)) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    if (await left().catch(() => false)) {
      const leftAfter = Date.now() - started;
      await killAndWait(pid, remaining, 'SIGTERM');
      return leftAfter;
    }
    await sleep(CONSUL_LEAVE_POLL_MS);
  }
  await killAndWait(pid, 0, 'SIGKILL');
  return undefined;
}

/** Not installed: ENOENT directly, or exit 127 when started through a wrapper such as `nsenter … --`. */
function isMissingProgram(error: unknown): boolean {
  const e = error as { notFound?: boolean; exitCode?: number; code?: string };
  return e.notFound === true || e.exitCode === 127 || e.code === 'ENOENT';
}
