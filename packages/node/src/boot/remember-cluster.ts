import { describeError, type EventSink } from '@cluster-lab/core';
import { type ManagerAddress, readJson, swarmKeys } from '@cluster-lab/swarm';
import { type ClusterFile, readClusterFile, updateClusterFile } from '../cluster-state/cluster-file.js';
import type { ClusterDiscovery } from '../cluster-state/discover-cluster.js';
import type { NodeFacts } from '../node-facts.js';
import type { RunningConsul } from '../node-services.js';

/** What {@link rememberCluster} records. */
export interface RememberClusterInput {
  /** This node's node address. */
  address: string;
  clusterId?: string;
  swarmClusterId?: string;
  /** The running agent: the cluster's servers and swarm managers are read through it. */
  consul?: RunningConsul;
  /** The leader's discovery: a bootstrap after a timeout is remembered for `health`. */
  discovery?: ClusterDiscovery;
  onEvent?: EventSink;
}

/**
 * Writes what this node now knows about its cluster to `cluster.json` — the cluster id, the
 * Consul servers and Swarm managers (where the next start looks for the cluster before it would
 * bootstrap one), its node address. Never fails the start: a store that does not answer leaves
 * the previous addresses in place, with a warning.
 */
export async function rememberCluster(node: NodeFacts, input: RememberClusterInput): Promise<ClusterFile | undefined> {
  const warn = (what: string, error: unknown) =>
    input.onEvent?.({ type: 'log', level: 'warn', message: `could not ${what}: ${describeError(error)}`, source: 'cluster' });
  try {
    const known = await readClusterFile(node);
    const servers = input.consul ? await input.consul.servers().catch((e: unknown) => warn('list the Consul servers', e)) : undefined;
    const managers = input.consul
      ? await readJson<ManagerAddress[]>(input.consul.store, swarmKeys().managers).catch((e: unknown) => warn('read the Swarm managers', e))
      : undefined;
    const alone =
      input.discovery?.decision === 'bootstrap' && input.discovery.reason === 'timeout'
        ? {
            at: known.bootstrappedAlone?.at ?? new Date().toISOString(),
            candidates: input.discovery.candidates,
            ...(previousCluster(known, input.clusterId) ? { previousClusterId: previousCluster(known, input.clusterId) } : {}),
          }
        : undefined;
    return await updateClusterFile(node, {
      nodeAddress: input.address,
      ...(input.clusterId ? { clusterId: input.clusterId } : {}),
      ...(input.swarmClusterId ? { swarmClusterId: input.swarmClusterId } : {}),
      ...(servers && servers.length > 0 ? { consulServers: servers } : {}),
      ...(managers?.value.length ? { swarmManagers: managers.value.map((m) => m.addr) } : {}),
      bootstrappedAlone: alone,
    });
  } catch (error) {
    warn(`write ${node.paths.clusterFile}`, error);
    return undefined;
  }
}

/** The cluster this node belonged to before it bootstrapped a new one (kept across repeated starts). */
function previousCluster(known: ClusterFile, clusterId: string | undefined): string | undefined {
  if (known.bootstrappedAlone?.previousClusterId) return known.bootstrappedAlone.previousClusterId;
  return known.clusterId && known.clusterId !== clusterId ? known.clusterId : undefined;
}
