import { ConsulStore } from '@cluster-lab/consul';
import { initManager, join, leave } from '@cluster-lab/swarm';
import type { ServiceContext, SwarmOutcome } from '../node-services.js';

/** Timeout of each cluster-store request while leaving the swarm on `stop` (the local agent answers in ms when healthy). */
export const STOP_STORE_TIMEOUT_MS = 3_000;
/** The last manager waits this long for workers still in the swarm to leave first on a simultaneous stop. */
export const LAST_MANAGER_WAIT_MS = 15_000;

/**
 * The leader initialises the swarm (or finds it) and publishes the join tokens in the cluster
 * store; a follower joins with them, as manager or worker to keep `swarm.managers`.
 */
export async function joinSwarm(ctx: ServiceContext, args: { role: 'leader' | 'follower'; address: string }): Promise<SwarmOutcome> {
  const { node } = ctx;
  const client = node.localConsul();
  try {
    const common = {
      docker: node.docker,
      store: new ConsulStore(client),
      advertiseAddr: args.address,
      managers: node.config.swarm.managers,
      labels: node.config.swarm.labels,
      onEvent: ctx.onEvent,
    };
    if (args.role === 'leader') {
      const r = await initManager(common);
      return { role: 'manager', nodeId: r.nodeId, joined: r.created, gatewayBridgeExisted: r.gatewayBridgeExisted };
    }
    const r = await join({ ...common, signal: ctx.signal });
    return { role: r.role, nodeId: r.nodeId, joined: !r.alreadyMember, gatewayBridgeExisted: r.gatewayBridgeExisted };
  } finally {
    client.close();
  }
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
