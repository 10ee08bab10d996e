import { readFile } from 'node:fs/promises';
import { type ConsulAgentChanges, ConsulStore } from '@cluster-lab/consul';
import { describeError, type EventSink, Journal, writeFileAtomic } from '@cluster-lab/core';
import { JOURNAL_KINDS } from '../boot/journal-kinds.js';
import type { NodeFacts } from '../node-facts.js';
import { consulRuntimeFor } from '../services/consul.js';
import { PROMOTE_KEY_PREFIX } from './membership-upkeep.js';

/** What a promotion did, for the supervisor's status file. */
export interface PromotionOutcome {
  at: number;
  ok: boolean;
  detail: string;
}

/**
 * The agent's config as a server that joins `servers`: `server: true`, no bootstrap of any kind
 * (it joins the existing Raft cluster; autopilot makes it a voter), `retry_join` the live
 * servers. Every other key — bind and client addresses, gossip key, ACL tokens — stays exactly
 * as `start` rendered it, so a promotion never changes how the node talks to the cluster.
 *
 * @example
 * ```ts
 * serverConfigFrom('{"server":false,"retry_join":["192.168.200.1"]}', ['192.168.200.101']);
 * // '{"server":true,"retry_join":["192.168.200.101"]}' (pretty-printed)
 * ```
 */
export function serverConfigFrom(json: string, servers: readonly string[]): string {
  const config = JSON.parse(json) as Record<string, unknown>;
  config.server = true;
  delete config.bootstrap;
  delete config.bootstrap_expect;
  if (servers.length > 0) config.retry_join = [...servers];
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Carries out a promotion request that membership upkeep left for this node in Consul KV
 * (`cluster-lab/consul/promote/<hostname>`): restarts this node's agent as a server joining the
 * live servers, then deletes the request. Nothing to do (undefined) without a request; a node
 * that already runs a server only drops the request. The journal's Consul entry stays valid: the
 * agent runs from the same config file, data dir and runtime, so `stop` stops it as before.
 */
export async function carryOutPromotion(node: NodeFacts, onEvent: EventSink): Promise<PromotionOutcome | undefined> {
  const key = `${PROMOTE_KEY_PREFIX}${node.hostname}`;
  const client = node.localConsul({ timeoutMs: 3_000 });
  const store = new ConsulStore(client);
  // No answer from the local agent is not a failed promotion: there may be no request at all.
  const request = await store.get(key).catch(() => undefined);
  if (!request) {
    client.close();
    return undefined;
  }
  const at = Date.now();
  try {
    const health = await client.agentHealth();
    if (health.server) {
      await store.delete(key);
      return { at, ok: true, detail: 'already a Consul server' };
    }
    const journal = await Journal.open(node.paths.journal);
    const entry = journal.entries.find((e) => e.kind === JOURNAL_KINDS.consul);
    if (journal.status !== 'running' || !entry)
      return { at, ok: false, detail: 'the node is not running (no Consul agent in the journal)' };
    const changes = (entry.data as { ref?: ConsulAgentChanges }).ref;
    if (!changes?.configFile) return { at, ok: false, detail: 'the journal does not say where the agent config is' };
    const servers = (await client.members()).filter((m) => m.role === 'server' && m.status === 'alive').map((m) => m.address);
    const next = serverConfigFrom(await readFile(changes.configFile, 'utf8'), servers);
    onEvent({
      type: 'log',
      level: 'info',
      message: `promoted by membership upkeep: restarting the Consul agent as a server joining ${servers.join(', ') || 'the cluster'}`,
      source: 'consul',
    });
    client.close();
    const runtime = consulRuntimeFor(node, changes.runtime, onEvent);
    await writeFileAtomic(changes.configFile, next, 0o600);
    await runtime.stop();
    await runtime.begin({ configFile: changes.configFile, dataDir: changes.dataDir, nodeName: node.hostname });
    await runtime.waitRunning();
    const fresh = node.localConsul({ timeoutMs: 3_000 });
    try {
      await fresh.waitForLeader({ timeoutMs: 30_000 });
      await new ConsulStore(fresh).delete(key);
    } finally {
      fresh.close();
    }
    return { at, ok: true, detail: `Consul agent restarted as a server (joined ${servers.join(', ')})` };
  } catch (error) {
    return { at: Date.now(), ok: false, detail: `promotion to Consul server failed: ${describeError(error)}` };
  } finally {
    client.close();
  }
}
