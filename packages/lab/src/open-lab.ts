import { readdir } from 'node:fs/promises';
import { ClusterLabError, type CommandRunner, ExecaRunner } from '@cluster-lab/core';
import { destroyLabState } from './destroy-lab.js';
import { type Lab, labFromState } from './lab.js';
import { LAB_STATE_ROOT } from './lab-paths.js';
import { isOwnerAlive, type LabState, readLabState } from './lab-state.js';

/** Where to look for labs. */
export interface LabLookupOptions {
  runner?: CommandRunner;
  /** Default {@link LAB_STATE_ROOT}. */
  stateRoot?: string;
}

/** One lab found by {@link listLabs}. */
export interface LabSummary {
  id: string;
  name: string;
  createdAt: string;
  stateDir: string;
  /** Node names (`node1`…); empty while the lab is still being created. */
  nodes: string[];
  /** True for a lab created with `persistent: true`. */
  persistent: boolean;
  /** False when the owning process is gone: {@link cleanupStale} would remove it. */
  ownerAlive: boolean;
  /** False while the lab is being created (or when creation crashed). */
  complete: boolean;
  options: LabState['options'];
}

/**
 * Lists the labs below the state root, oldest first.
 *
 * @example
 * ```ts
 * for (const lab of await listLabs()) console.log(lab.id, lab.nodes.length, lab.ownerAlive);
 * ```
 */
export async function listLabs(options: LabLookupOptions = {}): Promise<LabSummary[]> {
  const stateRoot = options.stateRoot ?? LAB_STATE_ROOT;
  const entries = await readdir(stateRoot).catch(() => [] as string[]);
  const labs: LabSummary[] = [];
  for (const entry of entries) {
    const state = await readLabState(`${stateRoot}/${entry}`);
    if (!state) continue;
    labs.push({
      id: state.id,
      name: state.name,
      createdAt: state.createdAt,
      stateDir: state.stateDir,
      nodes: state.topology?.nodes.map((n) => n.name) ?? [],
      persistent: state.owner === null,
      ownerAlive: await isOwnerAlive(state.owner),
      complete: state.topology !== undefined,
      options: state.options,
    });
  }
  return labs.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/**
 * Rebuilds the handle of an existing lab from its state file, e.g. in `cluster-lab lab exec`
 * after `lab up` created a persistent lab in another process. `id` is the full id
 * (`demo-k3x9a`) or, when only one lab has that name, the name. Undefined when there is no
 * such lab.
 *
 * @example
 * ```ts
 * const lab = await openLab('demo');
 * if (lab) await lab.node('node2').exec('hostname', []);
 * ```
 */
export async function openLab(id: string, options: LabLookupOptions = {}): Promise<Lab | undefined> {
  const state = await findLabState(id, options);
  if (!state) return undefined;
  if (!state.topology) {
    throw new ClusterLabError('LAB_INCOMPLETE', `lab "${state.id}" was not fully created`, {
      hint: 'remove it with destroyLab() (or cleanupStale() if its creator crashed)',
    });
  }
  return labFromState(options.runner ?? new ExecaRunner(), state);
}

/**
 * Removes a lab by id (or unique name) from another process than the one that created it —
 * also a half-created one. Returns false when there is no such lab (already removed).
 */
export async function destroyLab(id: string, options: LabLookupOptions = {}): Promise<boolean> {
  const state = await findLabState(id, options);
  if (!state) return false;
  await destroyLabState(options.runner ?? new ExecaRunner(), state);
  return true;
}

async function findLabState(id: string, options: LabLookupOptions): Promise<LabState | undefined> {
  const stateRoot = options.stateRoot ?? LAB_STATE_ROOT;
  if (!/^[a-z0-9-]+$/.test(id)) return undefined;
  const exact = await readLabState(`${stateRoot}/${id}`);
  if (exact) return exact;
  const byName = (await listLabs(options)).filter((l) => l.name === id);
  if (byName.length > 1) {
    throw new ClusterLabError('LAB_AMBIGUOUS', `${byName.length} labs are named "${id}": ${byName.map((l) => l.id).join(', ')}`, {
      hint: 'pass the full lab id',
      errorClass: 'usage',
    });
  }
  return byName[0] ? readLabState(byName[0].stateDir) : undefined;
}
