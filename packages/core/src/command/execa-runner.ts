import { spawn as spawnChild } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { execa } from 'execa';
import {
  CommandError,
  type CommandErrorDetails,
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
    const result = await execa(file, args, {
      timeout: options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      input: options.input,
      env: options.env,
      cwd: options.cwd,
      cancelSignal: options.signal,
      reject: false,
      stripFinalNewline: false,
      encoding: 'utf8',
      // No inherited stdin: a program that unexpectedly reads it would hang the boot.
      // A number beyond stdio hands that descriptor of this process to the program as is (Node's
      // child_process semantics, which execa keeps); execa's types only list 3–9 there.
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(options.fds ?? [])] as unknown as [
        'pipe',
        'pipe',
        'pipe',
      ],
    });
    const durationMs = Math.round(result.durationMs);
    const stdout = String(result.stdout ?? '');
    const stderr = String(result.stderr ?? '');
    const signal = result.signal ?? undefined;
    // No exit code and no signal: the program never ran (missing, not executable, bad cwd).
    const didNotStart = result.failed && result.exitCode === undefined && signal === undefined && !result.timedOut && !result.isCanceled;
    const cause = result.cause as NodeJS.ErrnoException | undefined;
    const notFound = didNotStart && cause?.code === 'ENOENT' && !/"cwd" option is invalid/.test(result.message ?? '');
    if (result.failed && (options.reject !== false || didNotStart || result.timedOut || result.isCanceled)) {
      const details: CommandErrorDetails = {
        command,
        file,
        exitCode: result.exitCode,
        stdout,
        stderr:
          stderr ||
          (notFound ? `${file}: command not found` : didNotStart ? (result.shortMessage ?? '').split('\n').slice(1).join('\n') : ''),
        timedOut: Boolean(result.timedOut),
        isCanceled: Boolean(result.isCanceled),
        notFound,
        durationMs,
        cause: result.cause,
      };
      if (signal) details.signal = signal;
      throw new CommandError(details);
    }
    const exitCode = result.exitCode ?? (signal ? 128 + (osConstants.signals[signal as NodeJS.Signals] ?? 0) : 0);
    return signal ? { command, exitCode, stdout, stderr, durationMs, signal } : { command, exitCode, stdout, stderr, durationMs };
  }

  /**
   * Starts `file` without waiting for it. With `detached`, it runs in its own session (setsid)
   * with stdout and stderr appended to `logFile` and is unref'd, so this process may exit
   * while it keeps running; without, it is a plain child whose output is discarded (or logged).
   */
  async spawn(file: string, args: readonly string[], options: SpawnOptions = {}): Promise<SpawnedProcess> {
    const command = formatCommand(file, args);
    if (options.detached && !options.logFile) throw new TypeError('spawn: `logFile` is required with `detached`');
    // node's spawn (never a shell) rather than execa: a daemon needs a raw fd for its log and
    // must be unref'd so `cluster-lab start` can exit while it keeps running.
    const logFd = options.logFile ? openSync(options.logFile, 'a', 0o640) : undefined;
    let child: ReturnType<typeof spawnChild>;
    try {
      child = spawnChild(file, [...args], {
        env: options.env ? { ...process.env, ...options.env } : process.env,
        cwd: options.cwd,
        detached: Boolean(options.detached),
        stdio: ['ignore', logFd ?? 'ignore', logFd ?? 'ignore'],
      });
    } catch (error) {
      if (logFd !== undefined) closeSync(logFd);
      throw error;
    }
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (error) => resolve(error));
    });
    // The child holds its own copy of the log descriptor; ours is no longer needed.
    if (logFd !== undefined) closeSync(logFd);
    // A later 'error' (e.g. kill() failing) must not crash the process as an unhandled event.
    child.on('error', () => {});
    if (spawnError || child.pid === undefined) {
      throw new CommandError({
        command,
        file,
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
