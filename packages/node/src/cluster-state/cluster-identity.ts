import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterLabError, type ClusterStore } from '@cluster-lab/core';

/** Key of the cluster's identity record in the cluster store (`cluster-lab/cluster` in Consul KV). */
export const CLUSTER_IDENTITY_KEY = 'cluster';

/** How often a compare-and-set on the identity record is retried after losing to another writer. */
const CAS_ATTEMPTS = 5;

/**
 * The cluster's identity, written once by the node that bootstraps it and kept by the Consul
 * Raft store for the cluster's life. Every node compares it with what it joined (`health`):
 * a node whose Consul or swarm reports another id is in a split cluster.
 */
export interface ClusterIdentity {
  /** Random UUID chosen at bootstrap. */
  clusterId: string;
  createdAt: string;
  /** `consul.servers` at bootstrap. */
  consulServers: number;
  /** `swarm.managers` at bootstrap. */
  managers: number;
  /** The swarm's own cluster id, recorded once the swarm exists. */
  swarmClusterId?: string;
}

/** The identity record, or undefined when the store has none (or it is damaged). */
export async function readClusterIdentity(store: ClusterStore): Promise<ClusterIdentity | undefined> {
  return parse((await store.get(CLUSTER_IDENTITY_KEY))?.value);
}

/** What {@link registerCluster} did. */
export interface RegisterClusterResult {
  identity: ClusterIdentity;
  /** False when the store already held an identity (a repeated start): that one is kept. */
  created: boolean;
}

/**
 * Writes the identity of a new cluster — create-only (compare-and-set at index 0), so a repeated
 * start, or a second writer, keeps the identity that is there.
 *
 * @example
 * ```ts
 * const { identity } = await registerCluster(agent.store, { consulServers: 3, managers: 3 });
 * ```
 */
export async function registerCluster(
  store: ClusterStore,
  input: { consulServers: number; managers: number; clusterId?: string },
): Promise<RegisterClusterResult> {
  const identity: ClusterIdentity = {
    clusterId: input.clusterId ?? randomUUID(),
    createdAt: new Date().toISOString(),
    consulServers: input.consulServers,
    managers: input.managers,
  };
  if (await store.cas(CLUSTER_IDENTITY_KEY, JSON.stringify(identity), 0)) return { identity, created: true };
  const existing = await readClusterIdentity(store);
  if (!existing) {
    throw new ClusterLabError('CLUSTER_IDENTITY_INVALID', `the cluster record at ${CLUSTER_IDENTITY_KEY} in the cluster store is damaged`, {
      hint: 'inspect it with `consul kv get cluster-lab/cluster`; delete it only if this cluster was never shared',
    });
  }
  return { identity: existing, created: false };
}

/** Records the swarm's cluster id in the identity (compare-and-set, retried). Returns the updated identity. */
export async function recordSwarmCluster(store: ClusterStore, swarmClusterId: string): Promise<ClusterIdentity> {
  for (let attempt = 1; ; attempt++) {
    const stored = await store.get(CLUSTER_IDENTITY_KEY);
    const identity = parse(stored?.value);
    if (!stored || !identity) {
      throw new ClusterLabError('CLUSTER_IDENTITY_MISSING', 'the cluster store holds no cluster record to add the swarm to', {
        hint: 'the cluster was not bootstrapped by this version; run `cluster-lab stop` and `start` on the leader',
      });
    }
    if (identity.swarmClusterId === swarmClusterId) return identity;
    const next = { ...identity, swarmClusterId };
    if (await store.cas(CLUSTER_IDENTITY_KEY, JSON.stringify(next), stored.index)) return next;
    if (attempt >= CAS_ATTEMPTS) {
      throw new ClusterLabError('CLUSTER_IDENTITY_CONTENDED', 'the cluster record kept changing while the swarm was recorded in it', {
        hint: 'run `cluster-lab start` again',
      });
    }
  }
}

/**
 * Waits (blocking queries) until the cluster's identity is in the store: a joining node reads it
 * before it claims a slot, so it never claims one before the bootstrapping node has taken its own.
 */
export async function waitForClusterIdentity(
  store: ClusterStore,
  options: { timeoutMs: number; signal?: AbortSignal; where?: string },
): Promise<ClusterIdentity> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const stored = await store.waitFor(CLUSTER_IDENTITY_KEY, {
      timeoutMs: Math.max(0, deadline - Date.now()),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const identity = parse(stored?.value);
    if (identity) return identity;
    if (Date.now() >= deadline || options.signal?.aborted) {
      throw new ClusterLabError(
        'CLUSTER_IDENTITY_TIMEOUT',
        `no cluster record appeared in the cluster store${options.where ? ` at ${options.where}` : ''} within ${Math.round(options.timeoutMs / 1000)} s`,
        { hint: 'the node that bootstraps the cluster writes it once its Consul has a leader: check `cluster-lab status` on the leader' },
      );
    }
    // A damaged value: wait for it to change rather than spinning on it.
    if (stored) await sleep(200);
  }
}

function parse(text: string | undefined): ClusterIdentity | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ClusterIdentity>;
    return typeof value?.clusterId === 'string' && value.clusterId ? (value as ClusterIdentity) : undefined;
  } catch {
    return undefined;
  }
}
