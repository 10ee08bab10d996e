import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CommandRunner, type EventSink, ignoreEvents, readPidFile, startDaemon, stopDaemon, tail } from '@cluster-lab/core';
import { consulError } from '../consul-errors.js';
import { CONSUL_READY_LINE, type ConsulRuntime, type ConsulRuntimeStatus, type ConsulStartSpec } from './consul-runtime.js';

/** Options of {@link BinaryRuntime}. */
export interface BinaryRuntimeOptions {
  /** Runs the executable (use a node's runner in the lab). */
  runner: CommandRunner;
  /** The `consul` executable: a name on PATH or an absolute path. Default `consul`. */
  binary?: string;
  /** Directory for `consul.pid` and `consul.log` (e.g. `<stateDir>/consul`). */
  runDir: string;
  events?: EventSink;
  /** How long `stop` waits after SIGTERM (graceful leave) before SIGKILL. Default 10 s. */
  stopTimeoutMs?: number;
}

/**
 * Runs the host's `consul` executable as a detached daemon (it outlives `cluster-lab start`):
 * `consul agent -config-file=<file>`, pid in `<runDir>/consul.pid`, output in
 * `<runDir>/consul.log`. Ready when the agent logs "Consul agent running!".
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

  constructor(private readonly options: BinaryRuntimeOptions) {
    this.binary = options.binary ?? 'consul';
    this.pidFile = join(options.runDir, 'consul.pid');
    this.logFile = join(options.runDir, 'consul.log');
    this.events = options.events ?? ignoreEvents;
  }

  describe(): string {
    return `binary ${this.binary} (pid file ${this.pidFile})`;
  }

  /** `consul version` first line, or undefined when the executable is missing. Equivalent to `consul version`. */
  async version(): Promise<string | undefined> {
    try {
      const { stdout } = await this.options.runner.run(this.binary, ['version'], { timeoutMs: 10_000 });
      return stdout.split('\n')[0]?.trim();
    } catch (error) {
      if (isMissingProgram(error)) return undefined;
      throw error;
    }
  }

  async start(spec: ConsulStartSpec): Promise<{ started: boolean }> {
    // Where the log starts for this run, so readiness does not match an earlier run's line.
    const offset = await fileSize(this.logFile);
    try {
      const handle = await startDaemon(this.options.runner, {
        file: this.binary,
        args: ['agent', `-config-file=${spec.configFile}`],
        pidFile: this.pidFile,
        logFile: this.logFile,
        name: 'consul',
        ready: async () => (await readFile(this.logFile)).subarray(offset).includes(CONSUL_READY_LINE),
        readyTimeoutMs: spec.readyTimeoutMs ?? 30_000,
        pollMs: 50,
      });
      if (handle.started)
        this.events({ type: 'log', level: 'info', message: `started consul agent (pid ${handle.pid})`, source: 'consul' });
      return { started: handle.started };
    } catch (error) {
      if (isMissingProgram(error)) {
        throw consulError('CONSUL_NOT_INSTALLED', `the consul executable "${this.binary}" was not found`, {
          hint: 'install Consul, set consul.binary, or use the container runtime',
          errorClass: 'dependency',
          cause: error,
        });
      }
      throw error;
    }
  }

  async stop(): Promise<boolean> {
    const stopped = await stopDaemon(this.pidFile, { timeoutMs: this.options.stopTimeoutMs ?? 10_000 });
    if (stopped) this.events({ type: 'log', level: 'info', message: 'stopped consul agent', source: 'consul' });
    return stopped;
  }

  async status(): Promise<ConsulRuntimeStatus> {
    const pid = await readPidFile(this.pidFile);
    return pid === undefined
      ? { running: false, detail: 'consul agent not running' }
      : { running: true, pid, detail: `consul agent running (pid ${pid})` };
  }

  async logs(lines = 100): Promise<string> {
    try {
      return tail(await readFile(this.logFile, 'utf8'), lines);
    } catch {
      return '';
    }
  }
}

/** Not installed: ENOENT directly, or exit 127 when started through a wrapper such as `nsenter … --`. */
function isMissingProgram(error: unknown): boolean {
  const e = error as { notFound?: boolean; exitCode?: number };
  return e.notFound === true || e.exitCode === 127;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await readFile(path)).length;
  } catch {
    return 0;
  }
}
