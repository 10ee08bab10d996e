import { readFile, rm } from 'node:fs/promises';
import { readPidFile, stopDaemon } from '@cluster-lab/core';

/**
 * Reads `pidFile` and returns the pid only when that process is still ours: alive, and its
 * command line contains `marker` (our config/hook path). After a reboot a pid file in the state
 * dir can name an unrelated process that happens to reuse the pid; signalling it would be a bug,
 * so such a pid file is treated as stale and removed.
 */
export async function readOwnPid(pidFile: string, marker: string): Promise<number | undefined> {
  const pid = await readPidFile(pidFile);
  if (pid === undefined) return undefined;
  let cmdline: string;
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
  if (cmdline.includes(marker)) return pid;
  await rm(pidFile, { force: true });
  return undefined;
}

/**
 * Stops the daemon named by `pidFile` only if it is ours ({@link readOwnPid}); removes the pid
 * file either way. Returns false when nothing of ours was running. Safe twice.
 */
export async function stopOwnDaemon(
  pidFile: string,
  marker: string,
  options: { timeoutMs?: number; signal?: NodeJS.Signals } = {},
): Promise<boolean> {
  const pid = await readOwnPid(pidFile, marker);
  if (pid === undefined) {
    await rm(pidFile, { force: true });
    return false;
  }
  return stopDaemon(pidFile, options);
}
