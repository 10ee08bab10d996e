import { readFile, rm } from 'node:fs/promises';
import { ClusterLabError, type CommandRunner, describeError, killAndWait } from '@cluster-lab/core';
import { stopDockerd } from './dockerd.js';
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
  await Promise.all(state.netns.map((ns) => attempt(`stop processes in ${ns}`, () => killNetnsProcesses(runner, ns))));
  const mounts = [...new Set([...state.utsFiles, ...(await mountsBelow(state.stateDir))])].sort((a, b) => b.length - a.length);
  for (const mount of mounts) await attempt(`unmount ${mount}`, () => unmount(runner, mount));
  await Promise.all(state.netns.map((ns) => attempt(`delete netns ${ns}`, () => deleteNetns(runner, ns))));
  await attempt(`remove ${state.stateDir}`, () => rm(state.stateDir, { recursive: true, force: true }));

  if (problems.length > 0) {
    throw new ClusterLabError('LAB_DESTROY_FAILED', `lab "${state.id}" was not fully removed:\n${problems.join('\n')}`, {
      hint: 'run destroy again, or `cleanupStale()`; check `ip netns list` and `findmnt` for leftovers',
    });
  }
}

/** Sends SIGTERM to every process in `netns` (escalating to SIGKILL) and waits for them. Absent netns is fine. */
export async function killNetnsProcesses(runner: CommandRunner, netns: string): Promise<number[]> {
  const result = await runner.run('ip', ['netns', 'pids', netns], { reject: false, timeoutMs: 10_000 });
  if (result.exitCode !== 0) return [];
  const pids = result.stdout
    .split(/\s+/)
    .map((p) => Number.parseInt(p, 10))
    .filter((p) => Number.isInteger(p) && p > 1 && p !== process.pid);
  await Promise.all(pids.map((pid) => killAndWait(pid, NETNS_PROCESS_STOP_TIMEOUT_MS)));
  return pids;
}

/** `ip netns del <netns>`; a namespace that does not exist counts as deleted. */
export async function deleteNetns(runner: CommandRunner, netns: string): Promise<void> {
  const result = await runner.run('ip', ['netns', 'del', netns], { reject: false, timeoutMs: 10_000 });
  if (result.exitCode !== 0 && !/No such file or directory/.test(result.stderr)) {
    throw new Error(`\`ip netns del ${netns}\` failed: ${result.stderr.trim()}`);
  }
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
