import type { ClusterStore } from '@cluster-lab/core';

/**
 * Default prefix of every key this package writes to the `ClusterStore`. The store adds its own
 * prefix (`ConsulStore`: `cluster-lab/`), so in Consul KV the manager token is
 * `cluster-lab/swarm/tokens/manager`.
 */
export const DEFAULT_KEY_PREFIX = 'swarm';

/**
 * Where swarm facts live in the cluster store. Every node must use the same prefix.
 *
 * | key | written by | content |
 * |---|---|---|
 * | `cluster` | leader (`initManager`), last | `{ clusterId, managers, createdAt }` — "tokens are ready" |
 * | `tokens/worker`, `tokens/manager` | leader | join tokens (secrets), sealed with the cluster secret's key unless `security: open` |
 * | `managers` | managers | `[{ nodeId, hostname, addr }]`, the join addresses |
 * | `slots` | joiners and reconcile, under `locks/slots` | hostnames holding or reserving a manager role |
 * | `nodes/<hostname>` | each node | `{ nodeId, role, labels, addr }`: identity + desired labels |
 * | `left/<nodeId>` | `leave()` | marker: this node ID left; managers remove its entry |
 * | `removed/<nodeId>` | reconcile | marker: this recorded node ID is no longer in the swarm (removed by hand) |
 * | `reconcile` | joiners | request: "a manager please reconcile now" |
 * | `applied/<hostname>` | reconcile | `{ nodeId, at }`: labels of that node were applied |
 */
export interface SwarmKeys {
  prefix: string;
  cluster: string;
  workerToken: string;
  managerToken: string;
  managers: string;
  slots: string;
  slotsLock: string;
  reconcileLock: string;
  reconcileRequest: string;
  nodesPrefix: string;
  leftPrefix: string;
  appliedPrefix: string;
  removedPrefix: string;
  node(hostname: string): string;
  left(nodeId: string): string;
  applied(hostname: string): string;
  removed(nodeId: string): string;
}

/** Builds the {@link SwarmKeys} for a prefix (default {@link DEFAULT_KEY_PREFIX}). */
export function swarmKeys(prefix = DEFAULT_KEY_PREFIX): SwarmKeys {
  const p = prefix.replace(/\/+$/, '');
  return {
    prefix: p,
    cluster: `${p}/cluster`,
    workerToken: `${p}/tokens/worker`,
    managerToken: `${p}/tokens/manager`,
    managers: `${p}/managers`,
    slots: `${p}/slots`,
    slotsLock: `${p}/locks/slots`,
    reconcileLock: `${p}/locks/reconcile`,
    reconcileRequest: `${p}/reconcile`,
    nodesPrefix: `${p}/nodes/`,
    leftPrefix: `${p}/left/`,
    appliedPrefix: `${p}/applied/`,
    removedPrefix: `${p}/removed/`,
    node: (hostname) => `${p}/nodes/${hostname}`,
    left: (nodeId) => `${p}/left/${nodeId}`,
    applied: (hostname) => `${p}/applied/${hostname}`,
    removed: (nodeId) => `${p}/removed/${nodeId}`,
  };
}

/** The `cluster` record: written last by the leader, so its presence means tokens are published. */
export interface ClusterRecord {
  clusterId: string;
  /** Manager count the leader was configured with. */
  managers: number;
  createdAt: string;
}

/** One manager join address in the `managers` record. */
export interface ManagerAddress {
  nodeId: string;
  hostname: string;
  /** `ip:2377` */
  addr: string;
}

/** A node's `nodes/<hostname>` record: identity and the labels it wants. */
export interface NodeRecord {
  hostname: string;
  nodeId: string;
  role: 'leader' | 'follower';
  /** User labels (without the `cluster-lab.` ones, which are derived). */
  labels: Record<string, string>;
  /** Cluster address the node advertises. */
  addr: string;
  updatedAt: string;
}

/** An `applied/<hostname>` acknowledgement. */
export interface AppliedRecord {
  nodeId: string;
  at: string;
}

/** Reads and parses a JSON value; `undefined` when missing or not valid JSON. */
export async function readJson<T>(store: ClusterStore, key: string): Promise<{ value: T; index: number } | undefined> {
  const stored = await store.get(key);
  if (!stored) return undefined;
  try {
    return { value: JSON.parse(stored.value) as T, index: stored.index };
  } catch {
    return undefined;
  }
}

/** Writes a JSON value. */
export async function writeJson(store: ClusterStore, key: string, value: unknown): Promise<void> {
  await store.put(key, JSON.stringify(value));
}
