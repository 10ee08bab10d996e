import { access, constants, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/** Directories searched in addition to PATH: root's sbin dirs are often missing from a user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * Finds an executable like `command -v` does, without a shell: the first `dir/name` in PATH (plus
 * the sbin directories, where dnsmasq and DHCP clients live) that is an executable file.
 * Absolute paths are checked as-is. Returns undefined when not found.
 *
 * @example
 * ```ts
 * await findExecutable('udhcpc'); // '/usr/sbin/udhcpc'
 * ```
 */
export async function findExecutable(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const dirs = new Set([...path.split(delimiter).filter(Boolean), ...EXTRA_DIRS]);
  const candidates = isAbsolute(name) ? [name] : [...dirs].map((dir) => join(dir, name));
  for (const file of candidates) {
    try {
      await access(file, constants.X_OK);
      if ((await stat(file)).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}
