import { readdir, rm, stat } from 'node:fs/promises';
import { ClusterLabError, type CommandRunner, describeError, ExecaRunner } from '@cluster-lab/core';
import { destroyLabState } from './destroy-lab.js';
import { LAB_STATE_ROOT } from './lab-paths.js';
import { isOwnerAlive, readLabState } from './lab-state.js';

/** Options of {@link cleanupStale}. */
export interface CleanupStaleOptions {
  runner?: CommandRunner;
  /** Default {@link LAB_STATE_ROOT}. */
  stateRoot?: string;
  /** A state dir without a state file is removed once older than this (it is being created otherwise). Default 60 s. */
  orphanAgeMs?: number;
}

/**
 * Removes every lab whose owning process is gone (crashed test, killed script): the state file
 * names the owner by pid and start time, so labs of live processes — other tests running right
 * now — are never touched. Returns the ids of the labs removed.
 *
 * @example
 * ```ts
 * const removed = await cleanupStale(); // ['dhcp-k3x9a']
 * ```
 */
export async function cleanupStale(options: CleanupStaleOptions = {}): Promise<string[]> {
  const runner = options.runner ?? new ExecaRunner();
  const stateRoot = options.stateRoot ?? LAB_STATE_ROOT;
  let entries: string[];
  try {
    entries = await readdir(stateRoot);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const failures: string[] = [];
  for (const entry of entries) {
    const dir = `${stateRoot}/${entry}`;
    const state = await readLabState(dir);
    if (state === undefined) {
      const info = await stat(dir).catch(() => undefined);
      if (info?.isDirectory() && Date.now() - info.mtimeMs > (options.orphanAgeMs ?? 60_000)) {
        await rm(dir, { recursive: true, force: true });
        removed.push(entry);
      }
      continue;
    }
    if (await isOwnerAlive(state.owner)) continue;
    try {
      await destroyLabState(runner, state);
      removed.push(state.id);
    } catch (error) {
      // One stubborn lab must not keep the others around.
      failures.push(describeError(error));
    }
  }
  if (failures.length > 0) {
    throw new ClusterLabError(
      'LAB_CLEANUP_FAILED',
      `stale lab clean-up removed [${removed.join(', ')}] but failed:\n${failures.join('\n')}`,
      {
        hint: 'run cleanupStale() again; check `ip netns list` and `findmnt` for leftovers',
      },
    );
  }
  return removed;
}
