/**
 * Checks for config strings that end up in generated files (dnsmasq.conf, the Consul config,
 * DHCP client configs) or in a program's argument list. A newline in such a value would start a
 * new directive in a config file — `stateDir: "/x\ndhcp-script=/tmp/evil"` makes dnsmasq run a
 * script — so every such field refuses control characters, whatever else it allows.
 */

/** C0/C1 control characters (newline, carriage return, tab, escape, NUL, DEL, …) and the Unicode line/paragraph separators. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;

/** Characters allowed in a path field: they mean the same in argv, JSON and dnsmasq's config syntax (no whitespace, `#`, quotes, `,` or `\`). */
const PATH_CHARS = /^[A-Za-z0-9/._+@:~-]+$/;

/** A bare command name looked up in PATH: no `/`, and not starting with `-` (it would read as an option). */
const COMMAND_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;

/** Longest path Linux accepts (PATH_MAX, including the trailing NUL). */
export const MAX_PATH_LENGTH = 4095;

/** Longest path of a unix socket (`sun_path` is 108 bytes including the trailing NUL). */
export const MAX_SOCKET_PATH_LENGTH = 107;

/**
 * Why `value` contains a character that must not reach a config file or argv, or undefined.
 *
 * @example
 * ```ts
 * controlCharacterProblem('/var/lib\ndhcp-script=/x'); // 'must not contain control characters (…)'
 * ```
 */
export function controlCharacterProblem(value: string): string | undefined {
  return CONTROL.test(value)
    ? 'must not contain control characters such as a newline (they would start a new directive in a generated config file)'
    : undefined;
}

/**
 * Why `value` is not an absolute path that names one file or directory other than `/`, or
 * undefined: no control characters, absolute, not `/` itself, no `.`/`..` segments (so `/var/..`
 * cannot stand for `/`), at most {@link MAX_PATH_LENGTH} characters. Any other character is
 * allowed: use it for paths that only ever reach argv.
 */
export function absolutePathProblem(value: string): string | undefined {
  const control = controlCharacterProblem(value);
  if (control) return control;
  if (!value.startsWith('/')) return 'must be an absolute path';
  const segments = value.split('/').filter((s) => s !== '');
  if (segments.length === 0) return 'must not be the root directory /';
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments';
  if (value.length > MAX_PATH_LENGTH) return `is ${value.length} characters long; Linux allows at most ${MAX_PATH_LENGTH}`;
  return undefined;
}

/**
 * Why `value` is not a safe absolute path for a file or directory Cluster Lab writes into
 * config files and command lines, or undefined when it is: no control characters, absolute,
 * not `/` itself, no `.`/`..` segments (so `/var/..` cannot stand for `/`), and only letters,
 * digits and `/ . _ - + @ : ~`.
 *
 * @example
 * ```ts
 * safePathProblem('/var/lib/cluster-lab'); // undefined
 * safePathProblem('/');                    // 'must not be the root directory /'
 * ```
 */
export function safePathProblem(value: string): string | undefined {
  const shape = absolutePathProblem(value);
  if (shape) return shape;
  if (!PATH_CHARS.test(value)) {
    return 'may only contain letters, digits and / . _ - + @ : ~ (no spaces, quotes, "#" or ","; it is written into daemon config files)';
  }
  return undefined;
}

/**
 * Why `value` is neither a bare command name (looked up in PATH, e.g. `consul`) nor a safe
 * absolute path to a program, or undefined. Whether an absolute path really is an executable
 * file is a host check (`hostConfigProblems`).
 *
 * @example
 * ```ts
 * commandProblem('consul');             // undefined
 * commandProblem('/usr/local/bin/consul'); // undefined
 * commandProblem('bin/consul');         // 'must be a command name (…) or an absolute path …'
 * ```
 */
export function commandProblem(value: string): string | undefined {
  const control = controlCharacterProblem(value);
  if (control) return control;
  // The program's path only ever reaches argv (never a config file), so spaces are fine there.
  if (value.startsWith('/')) return absolutePathProblem(value);
  if (!COMMAND_NAME.test(value)) {
    return 'must be a command name found in PATH (letters, digits, . _ + -, not starting with -) or an absolute path to the executable';
  }
  return undefined;
}

/**
 * Why `value` is not a single line of printable ASCII without spaces (a token sent in an HTTP
 * header and written into a JSON config), or undefined.
 */
export function tokenProblem(value: string): string | undefined {
  const control = controlCharacterProblem(value);
  if (control) return control;
  return /^[\x21-\x7e]+$/.test(value) ? undefined : 'must be printable ASCII without spaces (it is sent in an HTTP header)';
}
