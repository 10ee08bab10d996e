import { access } from 'node:fs/promises';

/**
 * True when `path` exists (file, directory or anything else `access` can see); false on any
 * error. For decisions only: between this check and a later use the path may change.
 *
 * @example
 * ```ts
 * if (await pathExists('/proc/net/vlan')) console.log('802.1Q is loaded');
 * ```
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
