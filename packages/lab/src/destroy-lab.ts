import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { ClusterLabError, type CommandRunner, describeError, killAndWait, pathExists } from '@cluster-lab/core';
import { stopDockerd } from './dockerd.js';
import { ipBatch } from './ip-batch.js';
import { NETNS_DIR } from './lab-paths.js';
import type { LabState } from './lab-state.js';

/** How long processes left in a lab namespace get after SIGTERM before SIGKILL. */
export const NETNS_PROCESS_STOP_TIMEOUT_MS = 3000;

/**
 * Removes everything listed in a lab's state: dockerds (stopped by pid and waited for), any
 * process still running in the lab's namespaces, mounts below the state dir (UTS namespace
 * files, dockerd leftovers), the namespaces themselves (which takes their bridges and veths
 * along) and the state dir. Each part tolerates being already gone, so this is safe to repeat.
 */
export async function destroyLabState(runner: CommandRunner, state: LabState): Promise<void> {
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      problems.push(`${what}: ${describeError(error)}`);
    }
  };

  await Promise.all(state.dockerds.map((d) => attempt(`stop dockerd of ${d.node}`, () => stopDockerd(d))));
  await attempt('stop processes in the lab namespaces', () => killNetnsProcesses(state.netns));
  const mounts = [...new Set([...state.utsFiles, ...(await mountsBelow(state.stateDir))])].sort((a, b) => b.length - a.length);
  await attempt('unmount', () => unmountAll(runner, mounts));
  await attempt('delete namespaces', () => deleteNetns(runner, state.netns));
  await attempt(`remove ${state.stateDir}`, () => rm(state.stateDir, { recursive: true, force: true }));

  if (problems.length > 0) {
    throw new ClusterLabError('LAB_DESTROY_FAILED', `lab "${state.id}" was not fully removed:\n${problems.join('\n')}`, {
      hint: 'run destroy again, or `cleanupStale()`; check `ip netns list` and `findmnt` for leftovers',
    });
  }
}

/**
 * Sends SIGTERM to every process inside any of the namespaces `netns` (escalating to SIGKILL)
 * and waits for them; returns their pids. Found by comparing `/proc/<pid>/ns/net` with the
 * namespace files (device and inode), in-process (one `ip netns pids` per namespace would cost a process each).
 * Absent namespaces are fine; this process is never signalled.
 */
export async function killNetnsProcesses(netns: readonly string[], netnsDir = NETNS_DIR): Promise<number[]> {
  // Device and inode together: a namespace file whose bind mount is gone is a plain file on
  // another file system and must never match a live namespace.
  const ids = new Set<string>();
  for (const ns of netns) {
    const info = await stat(`${netnsDir}/${ns}`).catch(() => undefined);
    if (info) ids.add(`${info.dev}:${info.ino}`);
  }
  // Insurance: never the namespace this process runs in (that would signal the whole host).
  const own = await stat('/proc/self/ns/net');
  ids.delete(`${own.dev}:${own.ino}`);
  if (ids.size === 0) return [];
  const candidates = (await readdir('/proc')).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  const pids: number[] = [];
  await Promise.all(
    candidates.map(async (pid) => {
      const info = await stat(`/proc/${pid}/ns/net`).catch(() => undefined);
      if (info && ids.has(`${info.dev}:${info.ino}`)) pids.push(Number(pid));
    }),
  );
  await Promise.all(pids.map((pid) => killAndWait(pid, NETNS_PROCESS_STOP_TIMEOUT_MS)));
  return pids;
}

/**
 * Deletes namespaces in one `ip -force -batch` run; a namespace that does not exist counts as
 * deleted. Throws naming the namespaces that are still there afterwards.
 */
export async function deleteNetns(runner: CommandRunner, netns: readonly string[], netnsDir = NETNS_DIR): Promise<void> {
  if (netns.length === 0) return;
  const result = await ipBatch(
    runner,
    netns.map((ns) => ['netns', 'del', ns]),
    { force: true, reject: false },
  );
  const left = [];
  for (const ns of netns) if (await pathExists(`${netnsDir}/${ns}`)) left.push(ns);
  if (left.length > 0) throw new Error(`namespaces ${left.join(', ')} are still there: ${result.stderr.trim()}`);
}

/** `umount <path>…` in one run; on failure each path again alone, lazily when busy. Paths that are not mounted are fine. */
export async function unmountAll(runner: CommandRunner, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  const result = await runner.run('umount', [...paths], { reject: false, timeoutMs: 10_000 });
  if (result.exitCode === 0) return;
  for (const path of paths) await unmount(runner, path);
}

/** `umount <path>`, lazily when busy; a path that is not mounted is fine. */
export async function unmount(runner: CommandRunner, path: string): Promise<void> {
  const result = await runner.run('umount', [path], { reject: false, timeoutMs: 10_000 });
  if (result.exitCode === 0 || /not mounted|no mount point|No such file or directory/.test(result.stderr)) return;
  await runner.run('umount', ['--lazy', path], { timeoutMs: 10_000 });
}

/** Mount points strictly below `dir`, from `/proc/self/mountinfo`. */
export async function mountsBelow(dir: string, mountinfo = '/proc/self/mountinfo'): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(mountinfo, 'utf8');
  } catch {
    return [];
  }
  const prefix = `${dir}/`;
  return text
    .split('\n')
    .map((line) => decodeMountPath(line.split(' ')[4] ?? ''))
    .filter((mountPoint) => mountPoint.startsWith(prefix));
}

// mountinfo escapes space, tab, newline and backslash as octal.
function decodeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}
