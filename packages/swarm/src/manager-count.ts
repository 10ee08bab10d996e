import { swarmError } from './errors.js';

/** Default number of managers a cluster keeps (Docker's recommendation for small clusters). */
export const DEFAULT_MANAGERS = 3;

/** Largest manager count accepted: Docker advises against more than 7 (Raft write cost). */
export const MAX_MANAGERS = 7;

/**
 * How long a manager slot reserved by a joiner counts even though the node is not yet a manager
 * in the swarm. Covers a join in flight (normally < 2 s); after it, reconcile frees the slot so
 * a joiner that died mid-join does not keep a manager seat forever.
 */
export const SLOT_RESERVATION_TTL_MS = 60_000;

/** Throws `SWARM_INVALID_OPTION` unless `managers` is an odd integer in 1…{@link MAX_MANAGERS}. */
export function assertManagerCount(managers: number): void {
  if (!Number.isInteger(managers) || managers < 1 || managers > MAX_MANAGERS || managers % 2 === 0) {
    throw swarmError('SWARM_INVALID_OPTION', `swarm.managers is ${managers}: must be an odd integer from 1 to ${MAX_MANAGERS}`, {
      hint: 'use 1, 3, 5 or 7 so the managers keep a Raft majority',
      errorClass: 'config',
    });
  }
}

/** Raft quorum (majority) of `managers` managers. */
export function quorumOf(managers: number): number {
  return Math.floor(managers / 2) + 1;
}

/**
 * Manager slots: the hostnames that are, or are about to become, managers. Stored as the
 * `slots` record and only changed under the slots lock.
 */
export interface ManagerSlots {
  holders: Record<string, { nodeId?: string; since: number }>;
}

/** An empty {@link ManagerSlots}. */
export function emptySlots(): ManagerSlots {
  return { holders: {} };
}

/** Outcome of {@link takeManagerSlot}. */
export interface SlotDecision {
  role: 'manager' | 'worker';
  /** The slots after the decision (unchanged for a worker or a node already holding a slot). */
  slots: ManagerSlots;
  /** True when `slots` differs from the input and must be written back. */
  changed: boolean;
}

/**
 * Decides whether a joining node becomes a manager: it does when it already holds a slot
 * (idempotent re-join) or when fewer than `desired` slots are taken. Pure; the caller holds the
 * slots lock while reading, deciding and writing, so simultaneous joiners never overshoot.
 *
 * @example
 * ```ts
 * const d = takeManagerSlot({ slots, hostname: 'node4', desired: 3, now: Date.now() });
 * if (d.changed) await writeJson(store, keys.slots, d.slots);
 * ```
 */
export function takeManagerSlot(input: { slots: ManagerSlots; hostname: string; desired: number; now: number }): SlotDecision {
  const { slots, hostname, desired, now } = input;
  if (slots.holders[hostname]) return { role: 'manager', slots, changed: false };
  if (Object.keys(slots.holders).length >= desired) return { role: 'worker', slots, changed: false };
  return { role: 'manager', slots: { holders: { ...slots.holders, [hostname]: { since: now } } }, changed: true };
}

/** Returns `slots` without `hostname` (after a failed manager join or a leave). */
export function releaseManagerSlot(slots: ManagerSlots, hostname: string): ManagerSlots {
  const { [hostname]: _gone, ...rest } = slots.holders;
  return { holders: rest };
}

/** A swarm node as seen by the manager-count planner. */
export interface PlannerNode {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  /** Ready and reachable (for managers) — able to take part in Raft now. */
  healthy: boolean;
  /** A worker that may be promoted (ours, Ready, active, not leaving). */
  promotable: boolean;
  /** The local node or the current Raft leader: never demoted by the planner. */
  protected: boolean;
}

/** What {@link planManagerCount} wants done. */
export interface ManagerPlan {
  /** Manager count aimed for: the largest odd number ≤ `desired` that the healthy nodes allow. */
  target: number;
  promote: string[];
  demote: string[];
}

/**
 * Plans promotions/demotions so the swarm keeps `desired` managers when there are enough
 * nodes, and always an odd number (an even count adds no fault tolerance). `reserved` counts
 * manager slots held by joins in flight, which will become managers on their own. Pure.
 *
 * @example
 * ```ts
 * planManagerCount({ desired: 3, reserved: 0, nodes }); // { target: 3, promote: ['id4'], demote: [] }
 * ```
 */
export function planManagerCount(input: { desired: number; reserved: number; nodes: readonly PlannerNode[] }): ManagerPlan {
  const { desired, reserved, nodes } = input;
  const managers = nodes.filter((n) => n.role === 'manager');
  const healthyManagers = managers.filter((n) => n.healthy);
  const candidates = nodes.filter((n) => n.role === 'worker' && n.promotable);
  const available = healthyManagers.length + reserved + candidates.length;
  let target = Math.min(desired, available);
  if (target % 2 === 0) target -= 1;
  target = Math.max(target, 1);
  const current = managers.length + reserved;
  if (current < target) {
    const promote = [...candidates]
      .sort((a, b) => a.hostname.localeCompare(b.hostname))
      .slice(0, target - current)
      .map((n) => n.id);
    return { target, promote, demote: [] };
  }
  if (healthyManagers.length > desired) {
    // Only real, healthy managers beyond `desired` — never on account of reservations (a join in
    // flight is not a manager yet, and demoting a real one for it makes managers flap); unhealthy
    // ones are the stale-node cleanup's job.
    const excess = healthyManagers.length - desired;
    const demote = healthyManagers
      .filter((n) => !n.protected)
      .sort((a, b) => b.hostname.localeCompare(a.hostname))
      .slice(0, excess)
      .map((n) => n.id);
    return { target, promote: [], demote };
  }
  return { target, promote: [], demote: [] };
}

/** Whether one of `managers` managers (of which `reachable`, including the one leaving, are reachable) can step down without losing quorum. */
export function canStepDown(input: { managers: number; reachable: number }): boolean {
  const remaining = input.managers - 1;
  if (remaining < 1) return false;
  return input.reachable - 1 >= quorumOf(remaining);
}
