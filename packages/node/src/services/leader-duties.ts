import { type ClusterStore, describeError, type EventSink, ignoreEvents } from '@cluster-lab/core';
import { type Reservation, type RestoreLeaseFileResult, restoreLeaseFile, syncLeaseTable } from '@cluster-lab/dhcp';
import { JOURNAL_KINDS } from '../boot/journal-kinds.js';
import type { NodeFacts } from '../node-facts.js';
import type { ElectionOutcome, LeaderDuties, LeaderDutyEntry, LinkInfo, ServiceContext } from '../node-services.js';

export type { LeaderDuties, LeaderDutyEntry } from '../node-services.js';

import { nodeDnsmasq, startDhcpServer } from './dhcp-server.js';
import { releaseLeaderAddress } from './election.js';

/** Options of {@link takeLeaderDuties}. */
export interface TakeLeaderDutiesOptions {
  /** The cluster link. */
  link: LinkInfo;
  /**
   * The election this node just won: `claimed` (it added the leader address — journal it) and
   * the rogue-DHCP probe it ran meanwhile (`dhcpProbe`; without one, dnsmasq probes itself).
   */
  election: Pick<ElectionOutcome, 'claimed' | 'dhcpProbe'>;
  /** This node's node address: reserved for its MAC in dnsmasq, so no client is ever offered it. */
  nodeAddress?: string;
  /**
   * The cluster store with the replicated lease table (`cluster-lab/dhcp/leases`): restored into
   * the lease file before dnsmasq starts, so no address is handed out twice. Pass the node's own
   * agent's store on a failover; omit it when there is no cluster yet (first boot).
   */
  store?: ClusterStore;
  /**
   * Called right after each change, before the next one (append it to the journal: a crash in
   * between then still leaves a journal that undoes it).
   */
  record?: (entry: LeaderDutyEntry) => Promise<void>;
  signal?: AbortSignal;
  onEvent?: EventSink;
}

/**
 * The duties of the node holding the leader address — nothing else moves with it (Consul and
 * Swarm stay bound to node addresses): journal the address the election claimed, restore the
 * replicated lease table into dnsmasq's lease file, and serve DHCP on the cluster link with this
 * node's own address and the table's reservations reserved. The boot flow's leader path and a
 * failover (the supervisor, after winning an election) both call it, so both behave alike.
 * Idempotent: a dnsmasq that already serves keeps its leases (and gets new reservations by SIGHUP).
 *
 * @example
 * ```ts
 * const duties = await takeLeaderDuties(node, {
 *   link, election, nodeAddress, store: new ConsulStore(node.localConsul()),
 *   record: (e) => journal.record({ ...e, step: 'failover' }),
 * });
 * // later, when yielding the address:
 * await releaseLeaderDuties(node, duties.entries);
 * ```
 */
export async function takeLeaderDuties(node: NodeFacts, options: TakeLeaderDutiesOptions): Promise<LeaderDuties> {
  const onEvent = options.onEvent ?? ignoreEvents;
  const ctx: ServiceContext = { node, signal: options.signal ?? new AbortController().signal, onEvent };
  const entries: LeaderDutyEntry[] = [];
  const made = async (entry: LeaderDutyEntry) => {
    entries.push(entry);
    await options.record?.(entry);
  };
  const { link } = options;
  if (options.election.claimed) {
    await made({ kind: JOURNAL_KINDS.leaderAddress, key: node.leaderCidr, data: { link: link.name, cidr: node.leaderCidr } });
  }
  if (!node.config.dhcp.enabled) return { entries };

  const reservations: Reservation[] = options.nodeAddress
    ? [{ mac: link.mac.toLowerCase(), ip: options.nodeAddress, hostname: node.hostname }]
    : [];
  let restored: RestoreLeaseFileResult | undefined;
  // A running dnsmasq holds its leases in memory and rewrites the file: restore only before it starts.
  if (options.store && (await nodeDnsmasq(node, link.name).pid()) === undefined) {
    restored = await restoreLeaseFile(options.store, node.paths.dnsmasq.leaseFile);
    reservations.push(...restored.reservations);
    if (restored.restored > 0)
      onEvent({
        type: 'log',
        level: 'info',
        message: `restored ${restored.restored} lease(s) from the replicated lease table`,
        source: 'dhcp',
      });
  }
  const dhcp = await startDhcpServer(ctx, link, options.election, reservations);
  if (dhcp.started) await made({ kind: JOURNAL_KINDS.dhcpServer, key: dhcp.pidFile, data: { ...dhcp } });
  return { entries, dhcp, ...(restored ? { restored } : {}) };
}

/** Options of {@link releaseLeaderDuties}. */
export interface ReleaseLeaderDutiesOptions {
  /** Mirror the lease file into this store one last time before dnsmasq stops (a handover). */
  store?: ClusterStore;
  onEvent?: EventSink;
}

/**
 * Undoes {@link takeLeaderDuties}, newest change first: stops dnsmasq (its lease file stays), then
 * drops the leader address. The node address, Consul and Swarm stay. Safe to repeat; entries of
 * other kinds are ignored.
 */
export async function releaseLeaderDuties(
  node: NodeFacts,
  entries: readonly LeaderDutyEntry[],
  options: ReleaseLeaderDutiesOptions = {},
): Promise<void> {
  const onEvent = options.onEvent ?? ignoreEvents;
  const ctx: ServiceContext = { node, signal: new AbortController().signal, onEvent };
  for (const entry of [...entries].reverse()) {
    if (entry.kind === JOURNAL_KINDS.dhcpServer) {
      if (options.store) {
        await syncLeaseTable(options.store, node.paths.dnsmasq.leaseFile).catch((error: unknown) => {
          onEvent({
            type: 'log',
            level: 'warn',
            message: `could not mirror the leases before stopping DHCP: ${describeError(error)}`,
            source: 'dhcp',
          });
        });
      }
      await nodeDnsmasq(node, String(entry.data.link)).stop();
    } else if (entry.kind === JOURNAL_KINDS.leaderAddress) {
      await releaseLeaderAddress(ctx, String(entry.data.link), String(entry.data.cidr));
    }
  }
}
