import { ConsulStore } from '@cluster-lab/consul';
import { type ClusterStore, type EventSink, Journal } from '@cluster-lab/core';
import {
  type AddressProber,
  createRealElectionDeps,
  type ElectionResult,
  type ElectionSecurity,
  type ElectionTransport,
  type LeadershipDuties,
  type LeadershipLoop,
  type LeadershipLoss,
  type MemberInfo,
  startLeadershipLoop,
} from '@cluster-lab/election';
import { JOURNAL_KINDS } from '../boot/journal-kinds.js';
import type { NodeFacts } from '../node-facts.js';
import type { LinkInfo } from '../node-services.js';
import { type LeaderDutyEntry, releaseLeaderDuties, takeLeaderDuties } from '../services/leader-duties.js';

/** Journal step name of the changes a failover makes (so `stop` undoes them like start's own). */
export const FAILOVER_STEP = 'failover';

/** Options of {@link startNodeLeadership}. */
export interface NodeLeadershipOptions {
  /** The cluster link (from the journal's facts). */
  link: Pick<LinkInfo, 'name' | 'mac'>;
  security: ElectionSecurity;
  /** This node's membership now. */
  membership: () => MemberInfo;
  onEvent: EventSink;
  /** Tests pass the in-memory transport and prober; default the real ones (UDP, arping). */
  transport?: ElectionTransport;
  prober?: AddressProber;
}

/**
 * Runs the leadership loop of `@cluster-lab/election` for a started node, wired to the node's
 * journal: winning a failover takes the leader duties (`takeLeaderDuties`: the claimed address,
 * the replicated leases, dnsmasq) and journals each change under step {@link FAILOVER_STEP}, so
 * `stop` undoes exactly what the supervisor added; yielding releases them (`releaseLeaderDuties`)
 * and forgets their journal entries. Consul and Swarm are never touched.
 */
export async function startNodeLeadership(node: NodeFacts, options: NodeLeadershipOptions): Promise<LeadershipLoop> {
  const { config, runner, network } = node;
  const deps =
    options.transport && options.prober
      ? { transport: options.transport, prober: options.prober }
      : createRealElectionDeps({ runner, network, security: options.security, onEvent: options.onEvent });
  return startLeadershipLoop({
    link: options.link.name,
    mac: options.link.mac,
    priority: config.priority,
    role: config.role,
    leaderAddress: config.leaderAddress,
    prefix: node.prefix,
    nodeId: node.hostname,
    network,
    ...deps,
    membership: options.membership,
    duties: leaderDuties(node, options),
    leaderTimeoutMs: config.failover.leaderTimeout * 1000,
    onEvent: options.onEvent,
  });
}

/**
 * The boot flow's duty functions {@link leaderDuties} calls (tests pass fakes).
 * @internal
 */
export interface DutyFunctions {
  takeLeaderDuties: typeof takeLeaderDuties;
  releaseLeaderDuties: typeof releaseLeaderDuties;
}

/**
 * The node's {@link LeadershipDuties}: take and release through the journal.
 * @internal
 */
export function leaderDuties(
  node: NodeFacts,
  options: Pick<NodeLeadershipOptions, 'link' | 'membership' | 'onEvent'>,
  duties: DutyFunctions = { takeLeaderDuties, releaseLeaderDuties },
): LeadershipDuties {
  const { onEvent } = options;
  return {
    take: async (result: ElectionResult) => {
      if ((await Journal.open(node.paths.journal)).status !== 'running') throw new Error('the node is not running (stop in progress?)');
      const link = { name: options.link.name, mac: options.link.mac, mtu: 0 };
      const nodeAddress = options.membership().nodeAddress;
      const record = async (entry: LeaderDutyEntry) => {
        const journal = await Journal.open(node.paths.journal);
        await journal.record({ ...entry, step: FAILOVER_STEP });
      };
      const base = { link, election: { claimed: result.claimed }, record, onEvent, ...(nodeAddress ? { nodeAddress } : {}) };
      await withStore(node, async (store) => {
        if (store) await duties.takeLeaderDuties(node, { ...base, store });
        else {
          onEvent({
            type: 'log',
            level: 'warn',
            message: "this node's Consul agent does not answer: serving DHCP from the local lease file without the replicated table",
            source: 'dhcp',
          });
          await duties.takeLeaderDuties(node, base);
        }
      });
      await (await Journal.open(node.paths.journal)).setFacts({ role: 'leader' });
    },
    release: async (loss: LeadershipLoss) => {
      const journal = await Journal.open(node.paths.journal);
      // `stop` is undoing the journal itself (it removed the address): leave it to stop.
      if (journal.status !== 'running') return;
      const entries = journal.entries
        .filter((e) => e.kind === JOURNAL_KINDS.leaderAddress || e.kind === JOURNAL_KINDS.dhcpServer)
        .map((e) => ({ kind: e.kind, key: e.key, data: e.data }) as LeaderDutyEntry);
      await withStore(node, (store) => duties.releaseLeaderDuties(node, entries, { ...(store ? { store } : {}), onEvent }));
      const after = await Journal.open(node.paths.journal);
      for (const e of entries) await after.forget(e.kind, e.key);
      await after.setFacts({ role: 'follower' });
      onEvent({
        type: 'log',
        level: 'info',
        message: `released the leader duties (${loss.reason}); Consul and Swarm unchanged`,
        source: 'election',
      });
    },
  };
}

/** Runs `fn` with a store on this node's own agent, or without one when the agent does not answer. */
async function withStore<T>(node: NodeFacts, fn: (store: ClusterStore | undefined) => Promise<T>): Promise<T> {
  if (!node.config.consul.enabled) return fn(undefined);
  const client = node.localConsul({ timeoutMs: 3_000 });
  try {
    // A failover must not wait on an agent that is down: without it, serve from the local files.
    const reachable = await client.leader().then(
      (leader) => leader !== undefined,
      () => false,
    );
    return await fn(reachable ? new ConsulStore(client) : undefined);
  } finally {
    client.close();
  }
}
