import { ConsulStore } from '@cluster-lab/consul';
import { initManager, join, leave } from '@cluster-lab/swarm';
import type { ServiceContext, SwarmOutcome } from '../node-services.js';

/** Timeout of each cluster-store request while leaving the swarm on `stop` (the local agent answers in ms when healthy). */
export const STOP_STORE_TIMEOUT_MS = 3_000;
/** The leader waits this long for the other nodes to leave the swarm first on a simultaneous stop. */
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
      ...(node.keys ? { tokenKey: node.keys.swarmTokenKey } : {}),
      onEvent: ctx.onEvent,
    };
    if (args.role === 'leader') {
      const r = await initManager(common);
      return { role: 'manager', nodeId: r.nodeId, joined: r.created };
    }
    const r = await join({ ...common, signal: ctx.signal });
    return { role: r.role, nodeId: r.nodeId, joined: !r.alreadyMember };
  } finally {
    client.close();
  }
}

/**
 * Leaves the swarm. The leader (a manager holding the leader address) first waits for the other
 * nodes of a simultaneous stop to leave; a graceful leave that fails ends in a forced one, since
 * leaving is what stop asked for.
 */
export async function leaveSwarm(ctx: ServiceContext, outcome: SwarmOutcome): Promise<void> {
  const { node } = ctx;
  // Leaving only does bookkeeping in the store; when the leader (and its Consul) went first,
  // every request would wait out the default 10 s instead of failing fast.
  const client = node.localConsul({ timeoutMs: STOP_STORE_TIMEOUT_MS });
  const store = new ConsulStore(client);
  try {
    const lead = outcome.role === 'manager' && (await holdsLeaderAddress(ctx));
    try {
      await leave({
        docker: node.docker,
        store,
        ...(lead ? { waitForOthersMs: LAST_MANAGER_WAIT_MS, force: true } : {}),
        onEvent: ctx.onEvent,
      });
    } catch (error) {
      // On a simultaneous stop the other managers may leave between our quorum check and our
      // demotion, making this node the last manager; leaving is what stop asked for, so finish it.
      ctx.onEvent({
        type: 'log',
        level: 'warn',
        message: `graceful swarm leave failed (${(error as Error).message}); leaving with force`,
        source: 'swarm',
      });
      await leave({ docker: node.docker, store, force: true, onEvent: ctx.onEvent });
    }
  } finally {
    client.close();
  }
}

async function holdsLeaderAddress(ctx: ServiceContext): Promise<boolean> {
  const { network, linkName, config } = ctx.node;
  const link = await network.getLink(linkName);
  return link !== undefined && (await network.listAddresses(link.name)).some((a) => a.local === config.leaderAddress);
}
