import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '@cluster-lab/core';
import type { NodeFacts } from '../node-facts.js';

/**
 * What a node knows about its cluster, persisted in `<stateDir>/cluster.json`: written by
 * `start`, refreshed by the supervisor, kept across `stop` (the next start looks for the
 * cluster at these addresses before it would bootstrap a new one), removed by `stop --purge`.
 */
export interface ClusterFile {
  /** The cluster's id (the `cluster-lab/cluster` record in Consul KV). */
  clusterId?: string;
  /** The cluster's swarm (Docker's cluster id). */
  swarmClusterId?: string;
  /** Node addresses of the Consul servers (Raft voters). */
  consulServers: string[];
  /** Swarm manager join addresses (`ip:2377`). */
  swarmManagers: string[];
  /** This node's own node address; a leader takes it again when it is free. */
  nodeAddress?: string;
  /**
   * Set when this node bootstrapped a new cluster although addresses of an earlier one were
   * known and none answered in time: `health` warns about a possible split until it is cleared.
   */
  bootstrappedAlone?: { at: string; candidates: string[]; previousClusterId?: string };
  updatedAt: string;
}

/** The node's {@link ClusterFile}; an empty one when there is none (first boot) or it cannot be parsed. */
export async function readClusterFile(node: Pick<NodeFacts, 'paths'>): Promise<ClusterFile> {
  try {
    const value = JSON.parse(await readFile(node.paths.clusterFile, 'utf8')) as Partial<ClusterFile>;
    return {
      ...value,
      consulServers: Array.isArray(value.consulServers) ? value.consulServers : [],
      swarmManagers: Array.isArray(value.swarmManagers) ? value.swarmManagers : [],
      updatedAt: typeof value.updatedAt === 'string' ? value.updatedAt : '',
    };
  } catch {
    return { consulServers: [], swarmManagers: [], updatedAt: '' };
  }
}

/**
 * Merges `patch` into the node's {@link ClusterFile} (a field set to `undefined` is removed) and
 * writes it atomically. Returns the new content.
 *
 * @example
 * ```ts
 * await updateClusterFile(node, { consulServers: ['192.168.200.101', '192.168.200.102'] });
 * ```
 */
export async function updateClusterFile(node: Pick<NodeFacts, 'paths'>, patch: Partial<ClusterFile>): Promise<ClusterFile> {
  const current = await readClusterFile(node);
  const next: ClusterFile = { ...current, ...patch, updatedAt: new Date().toISOString() };
  for (const key of Object.keys(next) as (keyof ClusterFile)[]) if (next[key] === undefined) delete next[key];
  await mkdir(dirname(node.paths.clusterFile), { recursive: true, mode: 0o700 });
  await writeFileAtomic(node.paths.clusterFile, `${JSON.stringify(next, null, 2)}\n`, 0o600);
  return next;
}
