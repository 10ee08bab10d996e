/**
 * What this node knows about its cluster (`<stateDir>/cluster.json`), behind the name and shape
 * of the `lifecycle-boot` branch's `cluster-state/cluster-file.ts` (which writes it).
 *
 * MERGE NOTE: once `lifecycle-boot` is merged, replace this file's body with
 * `export { type ClusterFile, readClusterFile } from '../cluster-state/cluster-file.js';`
 * @internal
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeFacts } from '../node-facts.js';

/** What a node knows about its cluster (`<stateDir>/cluster.json`, written by the boot flow). */
export interface ClusterFile {
  clusterId?: string;
  swarmClusterId?: string;
  consulServers: string[];
  swarmManagers: string[];
  nodeAddress?: string;
  updatedAt: string;
}

/** The node's cluster file; an empty one when there is none. */
export async function readClusterFile(node: Pick<NodeFacts, 'config'>): Promise<ClusterFile> {
  try {
    const value = JSON.parse(await readFile(join(node.config.stateDir, 'cluster.json'), 'utf8')) as Partial<ClusterFile>;
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
