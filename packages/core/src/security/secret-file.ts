import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ConfigProblem } from '../config/config-error.js';
import { ClusterLabError } from '../errors/cluster-lab-error.js';
import { writeFileAtomic } from '../steps/journal.js';
import { type ClusterSecret, parseSecret, SecretFormatError } from './cluster-secret.js';

/** Why a secret file cannot be used. */
export type SecretFileReason = 'missing' | 'not-a-file' | 'permissions' | 'owner' | 'unreadable' | 'invalid';

/** Options of {@link readSecretFile}. */
export interface ReadSecretFileOptions {
  /** Owners accepted for the file. Default: root and the effective user running this process. */
  ownerUids?: readonly number[];
}

/**
 * The secret file cannot be used; `reason` says why and the hint holds the exact command that
 * fixes it. Exit code 2 (a configuration error), like every other config problem.
 */
export class SecretFileError extends ClusterLabError {
  readonly reason: SecretFileReason;
  readonly path: string;

  constructor(path: string, reason: SecretFileReason, detail: string, hint: string) {
    super('SECRET_FILE_INVALID', `secretFile ${path} ${detail}`, { hint, errorClass: 'config' });
    this.name = 'SecretFileError';
    this.reason = reason;
    this.path = path;
  }

  /** The same finding as a config problem on the `secretFile` field, for `config check` and start's preflight. */
  toProblem(): ConfigProblem {
    return { path: 'secretFile', value: this.path, message: this.message.slice(`secretFile ${this.path} `.length), hint: this.hint ?? '' };
  }
}

/** The command that creates the secret on the first node. */
export function generateSecretCommand(path: string): string {
  return `sudo cluster-lab secret generate --output ${path}`;
}

/**
 * The command that copies the secret from this node to another one over SSH, keeping it
 * root-only on both ends (`<user>@<node>` is a placeholder the user fills in).
 */
export function copySecretCommand(path: string): string {
  return `sudo cat ${path} | ssh <user>@<node> 'sudo install -D -m 600 /dev/stdin ${path}'`;
}

/** How to get a secret onto a node that has none: generate it on the first node, copy it to the others. */
export function missingSecretHint(path: string): string {
  return `on the first node run \`${generateSecretCommand(path)}\`, then copy that same file to every other node: \`${copySecretCommand(path)}\` (or set security: open for a throwaway cluster)`;
}

/**
 * Reads and checks the cluster secret file: it must exist, be a regular file (symlinks are
 * followed), have no group or world permission bits (0600 or 0400), belong to root (or the
 * user running this), and hold a valid secret (`parseSecret`). Throws {@link SecretFileError}
 * with the fix; the secret's text never appears in an error.
 *
 * @example
 * ```ts
 * const secret = await readSecretFile(config.secretFile);
 * const keys = deriveClusterKeys(secret);
 * ```
 */
export async function readSecretFile(path: string, options: ReadSecretFileOptions = {}): Promise<ClusterSecret> {
  const owners = options.ownerUids ?? [0, ...(typeof process.geteuid === 'function' ? [process.geteuid()] : [])];
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw fromFsError(path, error);
  }
  if (!info.isFile()) {
    throw new SecretFileError(
      path,
      'not-a-file',
      'is not a regular file',
      `remove it and put the secret file there: ${missingSecretHint(path)}`,
    );
  }
  const mode = info.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new SecretFileError(
      path,
      'permissions',
      `is readable or writable by group or others (mode ${mode.toString(8).padStart(4, '0')}; must be 0600 or 0400)`,
      `run \`sudo chmod 600 ${path}\``,
    );
  }
  if (!owners.includes(info.uid)) {
    throw new SecretFileError(path, 'owner', `belongs to uid ${info.uid}, not to root`, `run \`sudo chown root:root ${path}\``);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw fromFsError(path, error);
  }
  try {
    return parseSecret(text);
  } catch (error) {
    if (!(error instanceof SecretFormatError)) throw error;
    throw new SecretFileError(
      path,
      'invalid',
      `does not hold a valid cluster secret: it ${error.message.replace('the cluster secret ', '')}`,
      `copy the file again from a node that has it: \`${copySecretCommand(path)}\`, or for a new cluster \`${generateSecretCommand(path)} --force\``,
    );
  }
}

function fromFsError(path: string, error: unknown): SecretFileError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new SecretFileError(path, 'missing', 'does not exist', missingSecretHint(path));
  if (code === 'EACCES' || code === 'EPERM') {
    return new SecretFileError(path, 'unreadable', 'cannot be read by this user', 'run the command as root (sudo)');
  }
  return new SecretFileError(path, 'unreadable', `cannot be read (${code ?? String(error)})`, `check ${path} with \`ls -l ${path}\``);
}

/**
 * The secret-file host check: undefined when the file is usable, else the problem on the
 * `secretFile` field with the fix.
 */
export async function secretFileProblem(path: string, options: ReadSecretFileOptions = {}): Promise<ConfigProblem | undefined> {
  try {
    await readSecretFile(path, options);
    return undefined;
  } catch (error) {
    if (error instanceof SecretFileError) return error.toProblem();
    throw error;
  }
}

/** Options of {@link writeSecretFile}. */
export interface WriteSecretFileOptions {
  /** Replace an existing file. Default false: an existing file is never overwritten. */
  force?: boolean;
}

/**
 * Writes the secret's text form to `path` with mode 0600, atomically: readers see no file or
 * the whole secret, never a partial one, and the file is never group/world-readable, not even
 * for a moment. Without `force` an existing file is left alone and `SECRET_FILE_EXISTS` thrown
 * (a second secret would split the cluster). Creates the parent directory (0755) if needed.
 *
 * @example
 * ```ts
 * await writeSecretFile('/etc/cluster-lab/secret', generateSecret());
 * ```
 */
export async function writeSecretFile(path: string, secret: ClusterSecret, options: WriteSecretFileOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const content = `${secret.toText()}\n`;
  if (options.force) {
    await writeFileAtomic(path, content, 0o600);
    return;
  }
  // link() fails with EEXIST instead of replacing, so an existing secret can never be clobbered
  // by a race between the existence check and the write.
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(tmp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ClusterLabError('SECRET_FILE_EXISTS', `${path} already exists; not overwriting the cluster secret`, {
        hint: `every node of a cluster needs the same secret: keep it, or replace it on purpose with --force (then copy it to every node: \`${copySecretCommand(path)}\`)`,
        errorClass: 'usage',
      });
    }
    throw error;
  } finally {
    await rm(tmp, { force: true });
  }
}
