import { spawn as spawnChild } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { execa } from 'execa';
import {
  CommandError,
  type CommandResult,
  type CommandRunner,
  formatCommand,
  type RunOptions,
  type SpawnedProcess,
  type SpawnOptions,
} from './command-runner.js';

/** Default timeout for {@link ExecaRunner.run}: generous, but a hung `ip` never blocks a boot. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/**
 * The real {@link CommandRunner}, built on execa. Arguments are passed as an array; no shell is
 * involved at any point.
 *
 * @example
 * ```ts
 * const runner = new ExecaRunner();
 * const { stdout } = await runner.run('ip', ['-j', 'link', 'show']);
 * ```
 */
export class ExecaRunner implements CommandRunner {
  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const command = formatCommand(file, args);
    const started = performance.now();
    const result = await execa(file, args, {
      timeout: options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      input: options.input,
      env: options.env,
      cwd: options.cwd,
      cancelSignal: options.signal,
      reject: false,
      stripFinalNewline: false,
      encoding: 'utf8',
      stdin: options.input === undefined ? 'ignore' : 'pipe',
    });
    const durationMs = Math.round(performance.now() - started);
    const stdout = String(result.stdout ?? '');
    const stderr = String(result.stderr ?? '');
    const notFound = (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    if (result.failed && (options.reject !== false || notFound || result.timedOut || result.isCanceled)) {
      throw new CommandError({
        command,
        exitCode: result.exitCode,
        stdout,
        stderr: stderr || (notFound ? `${file}: command not found` : ''),
        timedOut: Boolean(result.timedOut),
        isCanceled: Boolean(result.isCanceled),
        notFound,
        durationMs,
        cause: result.cause,
      });
    }
    return { command, exitCode: result.exitCode ?? 0, stdout, stderr, durationMs };
  }

  async spawn(file: string, args: readonly string[], options: SpawnOptions = {}): Promise<SpawnedProcess> {
    const command = formatCommand(file, args);
    if (options.detached && !options.logFile) throw new TypeError('spawn: `logFile` is required with `detached`');
    // node's spawn (never a shell) rather than execa: a daemon needs a raw fd for its log and
    // must be unref'd so `cluster-lab start` can exit while it keeps running.
    const logFd = options.logFile ? openSync(options.logFile, 'a') : undefined;
    const child = spawnChild(file, [...args], {
      env: options.env ? { ...process.env, ...options.env } : process.env,
      cwd: options.cwd,
      detached: Boolean(options.detached),
      stdio: ['ignore', logFd ?? 'ignore', logFd ?? 'ignore'],
    });
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (error) => resolve(error));
    });
    if (logFd !== undefined) closeSync(logFd);
    if (spawnError || child.pid === undefined) {
      throw new CommandError({
        command,
        exitCode: undefined,
        stdout: '',
        stderr: spawnError?.message ?? 'no pid',
        timedOut: false,
        isCanceled: false,
        notFound: (spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT',
        durationMs: 0,
        cause: spawnError,
      });
    }
    const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
      child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    if (options.detached) child.unref();
    return {
      pid: child.pid,
      command,
      exited,
      kill: (signal: NodeJS.Signals = 'SIGTERM') => {
        child.kill(signal);
      },
    };
  }
}
