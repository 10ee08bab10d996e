import { ConsulStore } from '@cluster-lab/consul';
import { type Check, describeError, fail, pass, skip, warn } from '@cluster-lab/core';
import { inspectEngine } from '@cluster-lab/swarm';
import { readClusterFile } from '../cluster-state/cluster-file.js';
import { type ClusterIdentity, readClusterIdentity } from '../cluster-state/cluster-identity.js';
import type { JournalView } from '../journal-view.js';
import type { NodeFacts } from '../node-facts.js';

/** Timeout of each Consul request of the check: the agents answer in milliseconds when healthy. */
const CHECK_TIMEOUT_MS = 3_000;

const SPLIT_HINT =
  'a node bootstrapped a second cluster: on the nodes of the cluster you want to drop, run `cluster-lab stop` then `cluster-lab start` — they join the cluster that answers (compare `cluster-lab status` on each node)';

/**
 * "Is this node in the cluster's one cluster?" — health telling the truth about splits, from
 * what one node can see: the cluster identity in this node's Consul KV must be the one it joined
 * (journal, `cluster.json`); the node holding the leader address must report the same identity;
 * a manager's swarm must be the swarm the identity records. FAIL with the fix when not; WARN when
 * this node bootstrapped a new cluster because nobody answered at the addresses it knew.
 */
export function clusterIdentityCheck(node: NodeFacts, journal: JournalView | undefined): Check {
  return {
    id: 'cluster-identity',
    title: "in the cluster's one Consul and swarm",
    run: async () => {
      const facts = (journal?.facts ?? {}) as { role?: string; clusterId?: string | null };
      if (journal?.status !== 'running') return skip('node not started');
      const known = await readClusterFile(node);
      const local = await identityAt(node.localConsul({ timeoutMs: CHECK_TIMEOUT_MS }));
      if (local instanceof Error) return fail(`this node's Consul does not answer: ${local.message}`, 'run `cluster-lab start` again');
      if (!local) {
        return fail(
          "this node's Consul KV holds no cluster record (cluster-lab/cluster)",
          'the cluster was bootstrapped before cluster identities existed, or its KV was wiped: stop and start the leader',
        );
      }
      const joined = facts.clusterId ?? known.clusterId;
      if (joined && joined !== local.clusterId) {
        return fail(
          `this node joined cluster ${short(joined)}, but its Consul now belongs to cluster ${short(local.clusterId)}`,
          SPLIT_HINT,
        );
      }
      if (facts.role === 'follower') {
        const atLeader = await identityAt(node.leaderConsul({ timeoutMs: CHECK_TIMEOUT_MS }));
        if (atLeader && !(atLeader instanceof Error) && atLeader.clusterId !== local.clusterId) {
          return fail(
            `the leader address ${node.config.leaderAddress} is held by a node of cluster ${short(atLeader.clusterId)}; this node is in cluster ${short(local.clusterId)}`,
            SPLIT_HINT,
          );
        }
      }
      let swarm = '';
      if (node.config.swarm.enabled && local.swarmClusterId) {
        const info = await inspectEngine(node.docker).catch((error: unknown) => new Error(describeError(error)));
        if (!(info instanceof Error) && info.Swarm.ControlAvailable && info.Swarm.Cluster?.ID) {
          if (info.Swarm.Cluster.ID !== local.swarmClusterId) {
            return fail(
              `this node manages swarm ${short(info.Swarm.Cluster.ID)}, but the cluster's swarm is ${short(local.swarmClusterId)}`,
              "run `cluster-lab stop` and then `cluster-lab start` on this node: it leaves the other swarm and joins the cluster's",
            );
          }
          swarm = `, swarm ${short(local.swarmClusterId)}`;
        }
      }
      const alone = known.bootstrappedAlone;
      if (alone && known.clusterId === local.clusterId) {
        return warn(
          `this node bootstrapped cluster ${short(local.clusterId)} at ${alone.at} because nobody answered at ${alone.candidates.join(', ')}${alone.previousClusterId ? ` (it was in cluster ${short(alone.previousClusterId)} before)` : ''}`,
          'if that cluster still runs, this is a split: start its nodes and check `cluster-lab health` there; the nodes of the cluster you drop rejoin with `cluster-lab stop` + `start`',
        );
      }
      return pass(`cluster ${short(local.clusterId)}${swarm}`);
    },
  };
}

async function identityAt(client: ReturnType<NodeFacts['localConsul']>): Promise<ClusterIdentity | undefined | Error> {
  try {
    return await readClusterIdentity(new ConsulStore(client));
  } catch (error) {
    return new Error(describeError(error));
  } finally {
    client.close();
  }
}

function short(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}
