import type { ErrorClass } from '../errors/cluster-lab-error.js';

/** Options accepted by {@link CommandRunner.run}. */
export interface RunOptions {
  /** Kill the command after this many milliseconds. Defaults to 30 000. */
  timeoutMs?: number;
  /** Written to the command's stdin. */
  input?: string;
  /** Extra environment variables (merged over the current environment). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /**
   * When false, a non-zero exit (or death by a signal, reported as exit code 128 + signal number)
   * resolves instead of throwing {@link CommandError}. A command that could not start, timed out
   * or was canceled always throws. Default true.
   */
  reject?: boolean;
  signal?: AbortSignal;
  /**
   * Open file descriptors of this process that the program gets as its fd 3, 4, … — the same
   * open file, not a copy, so e.g. `flock 3` locks the file for this process too.
   */
  fds?: readonly number[];
}

/** Options accepted by {@link CommandRunner.spawn}. */
export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /**
   * Start the process in its own session so it outlives this one (a daemon). Its stdout and
   * stderr go to `logFile` (appended), stdin is closed.
   */
  detached?: boolean;
  /** File receiving stdout and stderr. Required when `detached` is set. */
  logFile?: string;
}

/** What a finished command returned. */
export interface CommandResult {
  /** The command line, for messages (arguments quoted where needed). */
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** The signal that killed the command, when one did (only seen with `reject: false`). */
  signal?: string;
}

/** A process started by {@link CommandRunner.spawn}. */
export interface SpawnedProcess {
  readonly pid: number;
  readonly command: string;
  /** Resolves when the process exits (never rejects; read `exitCode`/`signal`). */
  readonly exited: Promise<{ exitCode: number | null; signal: string | null }>;
  /** Sends `signal` (default SIGTERM) to the process. */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Runs external programs with argument arrays — never through a shell. Every package takes a
 * runner so tests can swap in {@link FakeRunner} and assert exactly what would run.
 */
export interface CommandRunner {
  /** Runs `file` with `args` and waits for it. Throws {@link CommandError} on failure unless `reject: false`. */
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Starts a long-running process and returns at once. */
  spawn(file: string, args: readonly string[], options?: SpawnOptions): Promise<SpawnedProcess>;
}

/** Formats a command line for messages: arguments with spaces or quotes are single-quoted. */
export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map(quoteArg).join(' ');
}

function quoteArg(arg: string): string {
  if (arg !== '' && /^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Last `lines` lines of `text`, for error messages. */
export function tail(text: string, lines = 10): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** Fields of a {@link CommandError}. */
export interface CommandErrorDetails {
  command: string;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  isCanceled: boolean;
  /** True when the program is not installed (not on PATH / no such file). */
  notFound: boolean;
  durationMs: number;
  /** The signal that killed the command, if any. */
  signal?: string;
  /** The program that was run; names the missing dependency in the hint. */
  file?: string;
  cause?: unknown;
}

/**
 * A command that failed: carries the command line, exit code and the tail of stderr, shaped
 * like a result so callers can inspect it (after execa's `ExecaError`).
 *
 * It also carries the `code`/`hint`/`errorClass` triple of a {@link ClusterLabError} (so
 * {@link isClusterLabError} accepts it and the CLI prints it with a hint and the right exit
 * status): `COMMAND_NOT_FOUND` (class `dependency`), `COMMAND_TIMEOUT`, `COMMAND_CANCELED` or
 * `COMMAND_FAILED`. It does not extend `ClusterLabError`, whose `exitCode` is the CLI's exit
 * status, while here `exitCode` is the failed program's.
 */
export class CommandError extends Error {
  readonly code: string;
  readonly hint: string;
  readonly errorClass: ErrorClass;
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly isCanceled: boolean;
  readonly notFound: boolean;
  readonly durationMs: number;
  readonly signal: string | undefined;

  constructor(details: CommandErrorDetails) {
    const [code, errorClass, hint] = CommandError.classify(details);
    super(CommandError.describe(details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CommandError';
    this.code = code;
    this.hint = hint;
    this.errorClass = errorClass;
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.stdout = details.stdout;
    this.stderr = details.stderr;
    this.timedOut = details.timedOut;
    this.isCanceled = details.isCanceled;
    this.notFound = details.notFound;
    this.durationMs = details.durationMs;
    this.signal = details.signal;
  }

  private static classify(d: CommandErrorDetails): [string, ErrorClass, string] {
    const program = d.file ?? d.command.split(' ')[0] ?? d.command;
    if (d.notFound)
      return [
        'COMMAND_NOT_FOUND',
        'dependency',
        `install \`${program}\` or put it on PATH (\`cluster-lab dependencies\` lists what is needed)`,
      ];
    if (d.timedOut) return ['COMMAND_TIMEOUT', 'runtime', `\`${program}\` hung; check the system log and retry`];
    if (d.isCanceled) return ['COMMAND_CANCELED', 'runtime', 'the operation was interrupted'];
    return ['COMMAND_FAILED', 'runtime', `see the error output of \`${program}\` above`];
  }

  private static describe(d: CommandErrorDetails): string {
    const why = d.notFound
      ? 'program not found'
      : d.timedOut
        ? `timed out after ${d.durationMs} ms`
        : d.isCanceled
          ? 'canceled'
          : d.signal
            ? `killed by ${d.signal}`
            : d.exitCode === undefined
              ? 'could not start'
              : `exit code ${d.exitCode}`;
    const err = tail(d.stderr, 5);
    return `\`${d.command}\` failed (${why})${err ? `: ${err}` : ''}`;
  }
}
