import type { ClusterStore, StoreLock } from '@cluster-lab/core';
import {
  emptySlots,
  type ManagerSlots,
  readJson,
  releaseManagerSlot,
  SLOTS_LOCK_TIMEOUT_MS,
  swarmKeys,
  takeManagerSlot,
  writeJson,
} from '@cluster-lab/swarm';

/**
 * The cluster's one slot table: a node holding a slot runs a Consul server **and** is a Swarm
 * manager; every other node runs a Consul client and is a Swarm worker. Kept as the swarm
 * package's `slots` record (changed only under its `locks/slots` lock), so Swarm's own
 * reconciler counts a node that claimed its slot at the Consul step as a manager-to-be and
 * never promotes another node in its place while that one is still joining.
 */
export const ROLE_SLOTS = swarmKeys();

/** Options of {@link claimRoleSlot}. */
export interface ClaimRoleSlotOptions {
  /** Slots in the table: `consul.servers`, which equals `swarm.managers`. */
  slots: number;
  signal?: AbortSignal;
  /** Lock wait; default the swarm package's `SLOTS_LOCK_TIMEOUT_MS`. */
  lockTimeoutMs?: number;
}

/**
 * Claims a slot for `hostname` if one is free (or it holds one already: a restart keeps its
 * role). Returns true when the node holds a slot — then it is a Consul server and a Swarm
 * manager. Under the slots lock, so any number of simultaneous claimers never exceed `slots`.
 *
 * @example
 * ```ts
 * const server = await claimRoleSlot(new ConsulStore(node.leaderConsul()), node.hostname, { slots: config.consul.servers });
 * ```
 */
export async function claimRoleSlot(store: ClusterStore, hostname: string, options: ClaimRoleSlotOptions): Promise<boolean> {
  return withSlotsLock(store, options, async () => {
    const slots = (await readJson<ManagerSlots>(store, ROLE_SLOTS.slots))?.value ?? emptySlots();
    const decision = takeManagerSlot({ slots, hostname, desired: options.slots, now: Date.now() });
    if (decision.changed) await writeJson(store, ROLE_SLOTS.slots, decision.slots);
    return decision.role === 'manager';
  });
}

/**
 * Frees `hostname`'s slot (a node removed for good; membership upkeep then gives the slot to
 * another node). Returns false when it held none.
 */
export async function releaseRoleSlot(store: ClusterStore, hostname: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  return withSlotsLock(store, options, async () => {
    const slots = (await readJson<ManagerSlots>(store, ROLE_SLOTS.slots))?.value ?? emptySlots();
    if (!slots.holders[hostname]) return false;
    await writeJson(store, ROLE_SLOTS.slots, releaseManagerSlot(slots, hostname));
    return true;
  });
}

/** Host names holding a slot (servers and managers, or about to be). */
export async function readRoleSlots(store: ClusterStore): Promise<string[]> {
  const slots = (await readJson<ManagerSlots>(store, ROLE_SLOTS.slots))?.value ?? emptySlots();
  return Object.keys(slots.holders).sort();
}

async function withSlotsLock<T>(
  store: ClusterStore,
  options: { signal?: AbortSignal; lockTimeoutMs?: number },
  fn: () => Promise<T>,
): Promise<T> {
  const lock: StoreLock = await store.lock(ROLE_SLOTS.slotsLock, {
    timeoutMs: options.lockTimeoutMs ?? SLOTS_LOCK_TIMEOUT_MS,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
