import { createHash } from 'node:crypto';
import { readFile, rmdir } from 'node:fs/promises';
import {
  BinaryRuntime,
  type ConsulAgentChanges,
  type ConsulRuntime,
  ConsulStore,
  ContainerRuntime,
  chooseConsulRuntime,
  claimServerSlot,
  consulAgent,
  consulImageForArch,
  nodeIdFromMachineId,
  stopConsulAgent,
} from '@cluster-lab/consul';
import type { EventSink } from '@cluster-lab/core';
import type { NodeFacts } from '../node-facts.js';
import type { ConsulOutcome, ServiceContext } from '../node-services.js';

/** How long a follower waits for the leader's Consul before claiming a server slot. */
export const LEADER_CONSUL_TIMEOUT_MS = 60_000;

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
    : new ContainerRuntime({ docker, image: consulImageForArch(process.arch, config.consul.image), pull: false, events });
}

/**
 * Starts this node's Consul agent bound to its cluster `address`: a server on the leader and on
 * the first `consul.servers` followers (slots claimed in the leader's KV), a client elsewhere.
 */
export async function startConsul(ctx: ServiceContext, args: { role: 'leader' | 'follower'; address: string }): Promise<ConsulOutcome> {
  const { node } = ctx;
  const { config, runner, docker } = node;
  const { runtime } = await chooseConsulRuntime({ config, runner, docker, runDir: node.paths.consulRunDir, events: ctx.onEvent });
  let server = true;
  if (args.role === 'follower') {
    const leader = node.leaderConsul();
    try {
      await leader.waitForLeader({ timeoutMs: LEADER_CONSUL_TIMEOUT_MS, signal: ctx.signal });
      server = await claimServerSlot(new ConsulStore(leader), node.hostname, config.consul.servers);
    } finally {
      leader.close();
    }
  }
  const facts = {
    role: args.role,
    server,
    clusterAddress: args.address,
    leaderAddress: config.leaderAddress,
    nodeName: node.hostname,
    nodeId: await consulNodeId(node.hostname),
    dataDir: node.paths.consulDataDir,
  };
  const agent = await consulAgent({ config, facts, runtime, events: ctx.onEvent }).start();
  agent.client.close();
  return { server, ref: { ...agent.changes }, started: agent.changes.startedAgent || agent.changes.createdDataDir };
}

/** How long each request of a stopping agent's leave check may take (its local API answers in ms). */
export const STOP_LEAVE_CHECK_TIMEOUT_MS = 1_000;

/**
 * Stops the agent — leaving the cluster gracefully, ended as soon as the leave has done its part,
 * or without a leave when the whole cluster stops (`ctx.clusterDown`) — and removes exactly the
 * files {@link startConsul} created.
 */
export async function stopConsul(ctx: ServiceContext, outcome: ConsulOutcome): Promise<void> {
  const changes = outcome.ref as unknown as ConsulAgentChanges;
  const runtime = consulRuntimeFor(ctx.node, changes.runtime, ctx.onEvent);
  const client = ctx.node.localConsul({ timeoutMs: STOP_LEAVE_CHECK_TIMEOUT_MS });
  try {
    const { httpPort, aclToken } = ctx.node.config.consul;
    await stopConsulAgent(runtime, changes, {
      leave: ctx.clusterDown ? 'none' : 'graceful',
      client,
      servers: { httpPort, token: aclToken, timeoutMs: STOP_LEAVE_CHECK_TIMEOUT_MS },
    });
  } finally {
    client.close();
  }
  // The agent's log stays for post-mortems (rotated at each start; `stop --purge` deletes it); the
  // run dir goes when nothing else is in it.
  if (runtime instanceof BinaryRuntime && changes.startedAgent) await rmdir(ctx.node.paths.consulRunDir).catch(() => {});
}
