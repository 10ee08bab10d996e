import { createHash } from 'node:crypto';
import { readFile, rmdir } from 'node:fs/promises';
import {
  BinaryRuntime,
  type ConsulAgentChanges,
  type ConsulClient,
  type ConsulRuntime,
  ConsulStore,
  ContainerRuntime,
  chooseConsulRuntime,
  consulAgent,
  consulImageForArch,
  nodeIdFromMachineId,
  stopConsulAgent,
} from '@cluster-lab/consul';
import { ClusterLabError, consulSecrets, type EventSink, isIpv4 } from '@cluster-lab/core';
import { readClusterFile } from '../cluster-state/cluster-file.js';
import { waitForClusterIdentity } from '../cluster-state/cluster-identity.js';
import { claimRoleSlot } from '../cluster-state/role-slots.js';
import type { NodeFacts } from '../node-facts.js';
import type { BegunConsul, ConsulOutcome, ConsulStartArgs, PreparedConsul, RunningConsul, ServiceContext } from '../node-services.js';

/** How long a follower waits for the Consul of the leader address's holder before claiming a slot. */
export const LEADER_CONSUL_TIMEOUT_MS = 60_000;
/**
 * How long a joining node waits for the cluster's identity record. The bootstrapping leader
 * writes it as soon as its Consul has a leader (1–2 s after the agent starts); a cluster that
 * exists has it already.
 */
export const CLUSTER_IDENTITY_TIMEOUT_MS = 30_000;

/**
 * Consul `node_id` for this node: from `/etc/machine-id` and the host name, so it is stable across
 * reboots (Consul rejects a rejoining node whose id changed) yet distinct for nodes that share a
 * machine id (cloned SD cards, the namespaces of the virtual lab).
 */
export async function consulNodeId(hostname: string): Promise<string> {
  let machineId = '';
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    machineId = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (machineId) break;
  }
  return nodeIdFromMachineId(createHash('sha256').update(`${machineId}\n${hostname}`).digest('hex').slice(0, 32));
}

/** The Consul runtime of kind `kind` on this node, enough to stop an agent `start` left running. */
export function consulRuntimeFor(node: NodeFacts, kind: ConsulAgentChanges['runtime'], events: EventSink): ConsulRuntime {
  const { config, runner, docker } = node;
  return kind === 'binary'
    ? new BinaryRuntime({ runner, binary: config.consul.binary, runDir: node.paths.consulRunDir, events })
    : new ContainerRuntime({ docker, image: consulImageForArch(process.arch, config.consul.image, undefined), pull: false, events });
}

/**
 * Resolves the Consul runtime (`consul.runtime`) and the agent's version. The boot flow starts
 * it before the election and awaits it in the Consul step, so the `consul version` run
 * (0.1–0.2 s on a busy node) overlaps the election instead of delaying the agent.
 */
export async function prepareConsul(ctx: ServiceContext): Promise<PreparedConsul> {
  const { node } = ctx;
  const { runtime } = await chooseConsulRuntime({
    config: node.config,
    runner: node.runner,
    docker: node.docker,
    runDir: node.paths.consulRunDir,
    events: ctx.onEvent,
  });
  return { runtime, version: await runtime.version() };
}

/**
 * Starts this node's Consul agent bound to its node address, serving HTTP on loopback, the node
 * address and the leader address. Who does what:
 *
 * - a leader whose discovery found no cluster **bootstraps** a new one (a server, joining nobody);
 * - a leader that found one joins it through the agent that answered, a follower through the
 *   agent at the leader address: it waits for the cluster's identity record (so it never claims
 *   a slot before the bootstrapping node took its own), claims a slot in the cluster's slot table
 *   (a slot = Consul server **and** Swarm manager) and `retry_join`s the cluster's servers.
 *
 * Returns as soon as the agent process was started; `running()` waits for it.
 */
export async function beginConsul(ctx: ServiceContext, args: ConsulStartArgs): Promise<BegunConsul> {
  const { node } = ctx;
  const { config } = node;
  const prepared = args.prepared ?? prepareConsul(ctx);
  const bootstrap = args.role === 'leader' && args.discovery?.decision !== 'join';
  if (args.role === 'leader' && !args.discovery) {
    throw new ClusterLabError('CONSUL_NO_DISCOVERY', 'the leader must look for an existing cluster before it starts Consul', {
      hint: 'call discoverCluster first and pass its result',
    });
  }
  let server = true;
  let join: string[] = [];
  let clusterId: string | undefined;
  if (!bootstrap) {
    const via = args.role === 'leader' ? (args.discovery?.answer?.address as string) : config.leaderAddress;
    const remote = args.role === 'leader' ? node.consulAt(via) : node.leaderConsul();
    try {
      if (args.role === 'follower') await remote.waitForLeader({ timeoutMs: LEADER_CONSUL_TIMEOUT_MS, signal: ctx.signal });
      const store = new ConsulStore(remote);
      const identity = await waitForClusterIdentity(store, { timeoutMs: CLUSTER_IDENTITY_TIMEOUT_MS, signal: ctx.signal, where: via });
      clusterId = identity.clusterId;
      server = await claimRoleSlot(store, node.hostname, { slots: config.consul.servers, signal: ctx.signal });
      join = await clusterServers(remote, args.discovery?.answer?.servers ?? [], args.address, node);
    } finally {
      remote.close();
    }
  }
  const { runtime, version } = await prepared;
  const facts = {
    role: args.role,
    server,
    bootstrap,
    clusterAddress: args.address,
    leaderAddress: config.leaderAddress,
    serveOnLeaderAddress: true,
    nodeName: node.hostname,
    nodeId: await consulNodeId(node.hostname),
    dataDir: node.paths.consulDataDir,
    ...(bootstrap ? {} : { join }),
  };
  const begun = await consulAgent({
    config,
    facts,
    runtime,
    version,
    events: ctx.onEvent,
    ...(node.keys ? { keys: node.keys } : {}),
  }).begin();
  const outcome: ConsulOutcome = {
    server,
    ref: { ...begun.changes },
    started: begun.changes.startedAgent || begun.changes.createdDataDir,
  };
  return {
    outcome,
    bootstrap,
    join,
    ...(clusterId ? { clusterId } : {}),
    running: async (): Promise<RunningConsul> => {
      const agent = await begun.running();
      return {
        store: agent.store,
        servers: async () => stripPorts(await agent.client.peers()),
        close: () => agent.client.close(),
      };
    },
  };
}

/** How long each request of a stopping agent's leave check may take (its local API answers in ms). */
export const STOP_LEAVE_CHECK_TIMEOUT_MS = 1_000;

/**
 * Stops the agent — leaving the cluster gracefully, ended as soon as the leave has done its part,
 * or without a leave when the whole cluster stops (`ctx.clusterDown`) — and removes exactly the
 * files {@link beginConsul} created.
 */
export async function stopConsul(ctx: ServiceContext, outcome: ConsulOutcome): Promise<void> {
  const changes = outcome.ref as unknown as ConsulAgentChanges;
  const runtime = consulRuntimeFor(ctx.node, changes.runtime, ctx.onEvent);
  const client = ctx.node.localConsul({ timeoutMs: STOP_LEAVE_CHECK_TIMEOUT_MS });
  try {
    const { httpPort } = ctx.node.config.consul;
    const { token } = consulSecrets(ctx.node.config, ctx.node.keys);
    await stopConsulAgent(runtime, changes, {
      leave: ctx.clusterDown ? 'none' : 'graceful',
      client,
      servers: { httpPort, ...(token ? { token } : {}), timeoutMs: STOP_LEAVE_CHECK_TIMEOUT_MS },
    });
  } finally {
    client.close();
  }
  // The agent's log stays for post-mortems (rotated at each start; `stop --purge` deletes it); the
  // run dir goes when nothing else is in it.
  if (runtime instanceof BinaryRuntime && changes.startedAgent) await rmdir(ctx.node.paths.consulRunDir).catch(() => {});
}

/**
 * The servers to `retry_join`: the cluster's Raft peers as the answering agent reports them,
 * plus those the caller already knew and this node's `cluster.json` — never this node itself.
 */
async function clusterServers(remote: ConsulClient, known: readonly string[], self: string, node: NodeFacts): Promise<string[]> {
  const peers = stripPorts(await remote.peers().catch(() => []));
  const remembered = (await readClusterFile(node)).consulServers;
  const all = [...new Set([...peers, ...known, ...remembered])].filter((a) => a !== self);
  if (all.length === 0) {
    throw new ClusterLabError('CONSUL_NO_SERVERS', `the cluster at ${remote.address} named no Consul server to join`, {
      hint: 'check `consul members` on the leader: the cluster needs at least one server',
    });
  }
  return all;
}

function stripPorts(addresses: readonly string[]): string[] {
  return addresses.map((a) => a.replace(/:\d+$/, '')).filter(isIpv4);
}
