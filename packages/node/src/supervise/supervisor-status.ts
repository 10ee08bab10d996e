import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@cluster-lab/core';
import type { LeadershipState } from '@cluster-lab/election';
import type { NodeFacts } from '../node-facts.js';
import type { UpkeepState } from './membership-upkeep.js';
import type { SwarmRepairState } from './swarm-repair.js';

/** File name of the supervisor's status inside `<stateDir>/supervisor/`. */
export const SUPERVISOR_STATUS_FILE = 'status.json';

/**
 * What the running supervisor knows, written to `<stateDir>/supervisor/status.json` about once a
 * second: `health` and `status` read it (a separate process cannot ask the supervisor directly).
 * Never holds secrets.
 */
export interface SupervisorStatus {
  /** Epoch ms of the write; a stale file means the supervisor is not running. */
  updatedAt: number;
  pid: number;
  /** The leadership loop: role, holder, heartbeats, rogues, other clusters, dropped messages. */
  leadership?: LeadershipState;
  /** Membership upkeep (on the Swarm leader): nodes down, removed, promoted. */
  upkeep?: UpkeepState;
  /** The VIP holder's lease-table mirror. */
  leaseSync?: { lastSyncAt?: number; lastError?: string };
  /** A Consul promotion this node carried out (restart of its agent as a server). */
  promotion?: { at: number; ok: boolean; detail: string };
  /** This node's own swarm membership: an engine in `error`, the last re-join. */
  swarmRepair?: SwarmRepairState;
}

/** Path of the status file of `node`. */
export function supervisorStatusPath(node: Pick<NodeFacts, 'paths'>): string {
  return join(node.paths.supervisor.dir, SUPERVISOR_STATUS_FILE);
}

/** Writes the status file atomically (mode 0600). */
export async function writeSupervisorStatus(node: Pick<NodeFacts, 'paths'>, status: SupervisorStatus): Promise<void> {
  await writeFileAtomic(supervisorStatusPath(node), `${JSON.stringify(status)}\n`, 0o600);
}

/** The status the supervisor last wrote; undefined when there is none (or it cannot be read). */
export async function readSupervisorStatus(node: Pick<NodeFacts, 'paths'>): Promise<SupervisorStatus | undefined> {
  try {
    const value = JSON.parse(await readFile(supervisorStatusPath(node), 'utf8')) as SupervisorStatus;
    return typeof value?.updatedAt === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}
