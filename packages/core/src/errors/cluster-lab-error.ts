/**
 * Error classes decide the process exit code of the CLI (documented in the README):
 * `usage`/`config` → 2, `dependency` → 3, everything else → 1.
 */
export type ErrorClass = 'usage' | 'config' | 'dependency' | 'runtime';

/** Options for {@link ClusterLabError}. */
export interface ClusterLabErrorOptions {
  /** One line telling the user how to fix it. */
  hint?: string;
  /** Which class of failure this is; decides the exit code. Defaults to `runtime`. */
  errorClass?: ErrorClass;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The one error type the CLI knows how to print: a stable machine-readable `code`, a message
 * saying what went wrong, and a `hint` saying how to fix it.
 *
 * @example
 * ```ts
 * throw new ClusterLabError('LINK_NOT_FOUND', 'interface "eth9" does not exist', {
 *   hint: 'set `interface` to one of: eth0, wlan0',
 *   errorClass: 'config',
 * });
 * ```
 */
export class ClusterLabError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly errorClass: ErrorClass;

  constructor(code: string, message: string, options: ClusterLabErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClusterLabError';
    this.code = code;
    this.hint = options.hint;
    this.errorClass = options.errorClass ?? 'runtime';
  }

  /** The exit code the CLI uses for this error. */
  get exitCode(): number {
    return exitCodeFor(this.errorClass);
  }
}

/** Maps an error class to the CLI exit code. */
export function exitCodeFor(errorClass: ErrorClass): number {
  switch (errorClass) {
    case 'usage':
    case 'config':
      return 2;
    case 'dependency':
      return 3;
    default:
      return 1;
  }
}

/** True when `error` is a {@link ClusterLabError} (works across duplicated module copies). */
export function isClusterLabError(error: unknown): error is ClusterLabError {
  return (
    error instanceof ClusterLabError ||
    (error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && 'errorClass' in error)
  );
}

/** A one-line description of any thrown value, for logs and events. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
