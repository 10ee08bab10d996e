import { ConsulStore } from '@cluster-lab/consul';
import { initManager, join, leave } from '@cluster-lab/swarm';
import { recordSwarmCluster, waitForClusterIdentity } from '../cluster-state/cluster-identity.js';
import type { ServiceContext, SwarmJoinArgs, SwarmOutcome } from '../node-services.js';

/** Timeout of each cluster-store request while leaving the swarm on `stop` (the local agent answers in ms when healthy). */
export const STOP_STORE_TIMEOUT_MS = 3_000;
/** The last manager waits this long for workers still in the swarm to leave first on a simultaneous stop. */
export const LAST_MANAGER_WAIT_MS = 15_000;

/** How long the bootstrapping node waits for its own identity record before it records the swarm in it. */
const IDENTITY_WAIT_MS = 30_000;

/**
 * Swarm, advertised on the node address. The node that bootstrapped the cluster initialises the
 * swarm, publishes the join tokens in the cluster store and records the swarm's id in the
 * cluster identity; every other start — the old leader's included — joins the existing swarm as
 * the role its slot says: a Consul server is exactly a manager. The store is the node's own
 * agent's (its first operation waits for the Raft leader, so `swarm init` overlaps the election).
 */
export async function joinSwarm(ctx: ServiceContext, args: SwarmJoinArgs): Promise<SwarmOutcome> {
  const { node } = ctx;
  const { store } = args.consul;
  const common = {
    docker: node.docker,
    store,
    advertiseAddr: args.address,
    managers: node.config.swarm.managers,
    labels: node.config.swarm.labels,
    ...(node.keys ? { tokenKey: node.keys.swarmTokenKey } : {}),
    onEvent: ctx.onEvent,
  };
  if (args.bootstrap) {
    const r = await initManager(common);
    await waitForClusterIdentity(store, { timeoutMs: IDENTITY_WAIT_MS, signal: ctx.signal });
    await recordSwarmCluster(store, r.clusterId);
    return { role: 'manager', nodeId: r.nodeId, joined: r.created, clusterId: r.clusterId, gatewayBridgeExisted: r.gatewayBridgeExisted };
  }
  const role = args.manager === undefined ? {} : { role: args.manager ? ('manager' as const) : ('worker' as const) };
  const r = await join({ ...common, ...role, nodeRole: args.role, signal: ctx.signal });
  return { role: r.role, nodeId: r.nodeId, joined: !r.alreadyMember, clusterId: r.clusterId, gatewayBridgeExisted: r.gatewayBridgeExisted };
}

/**
 * Leaves the swarm; a manager steps down first unless it is the last one, which waits for the
 * others of a simultaneous stop to go first ({@link leave}). A graceful leave that fails ends in
 * a forced one, since leaving is what stop asked for. `docker_gwbridge` goes too when the join
 * made it; with `ctx.clusterDown` every node leaves at once.
 */
export async function leaveSwarm(ctx: ServiceContext, outcome: SwarmOutcome): Promise<void> {
  const { node } = ctx;
  // Leaving only does bookkeeping in the store; when the leader (and its Consul) went first,
  // every request would wait out the default 10 s instead of failing fast.
  const client = node.localConsul({ timeoutMs: STOP_STORE_TIMEOUT_MS });
  const common = {
    docker: node.docker,
    store: new ConsulStore(client),
    onEvent: ctx.onEvent,
    removeGatewayBridge: outcome.gatewayBridgeExisted === false,
    ...(ctx.clusterDown ? { clusterDown: true } : {}),
  };
  try {
    try {
      await leave({ ...common, ...(outcome.role === 'manager' ? { waitForOthersMs: LAST_MANAGER_WAIT_MS } : {}) });
    } catch (error) {
      // E.g. the other managers could not finish stepping down; leaving is what stop asked for.
      ctx.onEvent({
        type: 'log',
        level: 'warn',
        message: `graceful swarm leave failed (${(error as Error).message}); leaving with force`,
        source: 'swarm',
      });
      await leave({ ...common, force: true });
    }
  } finally {
    client.close();
  }
}
