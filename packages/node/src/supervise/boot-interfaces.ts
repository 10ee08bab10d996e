/**
 * The boot flow's lifecycle functions the supervisor uses, behind the names and signatures of
 * the `lifecycle-boot` branch (`services/leader-duties.ts`, `cluster-state/*`, the dhcp
 * package's lease table, `boot/journal-kinds.ts`). These are minimal stand-ins so the supervisor
 * builds and runs on its own branch.
 *
 * MERGE NOTE: once `lifecycle-boot` is merged, replace this file's body with re-exports:
 * ```ts
 * export { JOURNAL_KINDS } from '../boot/journal-kinds.js';
 * export { type LeaderDutyEntry, releaseLeaderDuties, takeLeaderDuties } from '../services/leader-duties.js';
 * export { type ClusterFile, readClusterFile } from '../cluster-state/cluster-file.js';
 * export { readClusterIdentity, registerCluster } from '../cluster-state/cluster-identity.js';
 * export { claimRoleSlot, readRoleSlots, releaseRoleSlot } from '../cluster-state/role-slots.js';
 * export { syncLeaseTable } from '@cluster-lab/dhcp';
 * ```
 * @internal
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type ClusterStore, type EventSink, ignoreEvents, type StoreLock, writeFileAtomic } from '@cluster-lab/core';
import {
  emptySlots,
  type ManagerSlots,
  readJson,
  releaseManagerSlot,
  SLOTS_LOCK_TIMEOUT_MS,
  swarmKeys,
  takeManagerSlot,
  writeJson,
} from '@cluster-lab/swarm';
import { JOURNAL_KINDS } from '../boot/undo-handlers.js';
import type { NodeFacts } from '../node-facts.js';
import type { DaemonRef, ElectionOutcome, LinkInfo, ServiceContext } from '../node-services.js';
import { nodeDnsmasq, startDhcpServer } from '../services/dhcp-server.js';
import { releaseLeaderAddress } from '../services/election.js';

export { type ClusterFile, readClusterFile } from './known-cluster.js';
export { JOURNAL_KINDS };

/** One change {@link takeLeaderDuties} made: a journal entry that `stop` undoes. */
export interface LeaderDutyEntry {
  kind: (typeof JOURNAL_KINDS)['leaderAddress'] | (typeof JOURNAL_KINDS)['dhcpServer'];
  key: string;
  data: Record<string, unknown>;
}

/** Options of {@link takeLeaderDuties}. */
export interface TakeLeaderDutiesOptions {
  link: LinkInfo;
  election: Pick<ElectionOutcome, 'claimed' | 'dhcpProbe'>;
  nodeAddress?: string;
  store?: ClusterStore;
  record?: (entry: LeaderDutyEntry) => Promise<void>;
  signal?: AbortSignal;
  onEvent?: EventSink;
}

/** What {@link takeLeaderDuties} did. */
export interface LeaderDuties {
  entries: LeaderDutyEntry[];
  dhcp?: DaemonRef;
}

/** Journals the claimed address, restores the leases and serves DHCP (stand-in of the boot branch's). */
export async function takeLeaderDuties(node: NodeFacts, options: TakeLeaderDutiesOptions): Promise<LeaderDuties> {
  const onEvent = options.onEvent ?? ignoreEvents;
  const ctx: ServiceContext = { node, signal: options.signal ?? new AbortController().signal, onEvent };
  const entries: LeaderDutyEntry[] = [];
  const made = async (entry: LeaderDutyEntry) => {
    entries.push(entry);
    await options.record?.(entry);
  };
  if (options.election.claimed)
    await made({ kind: JOURNAL_KINDS.leaderAddress, key: node.leaderCidr, data: { link: options.link.name, cidr: node.leaderCidr } });
  if (!node.config.dhcp.enabled) return { entries };
  if (options.store && (await nodeDnsmasq(node, options.link.name).pid()) === undefined) {
    const stored = await options.store.get(LOCAL_LEASES_KEY);
    if (stored?.value) await writeFileAtomic(node.paths.dnsmasq.leaseFile, stored.value, 0o644);
  }
  const dhcp = await startDhcpServer(ctx, options.link, { role: 'leader', claimed: options.election.claimed, candidates: 1 });
  if (dhcp.started) await made({ kind: JOURNAL_KINDS.dhcpServer, key: dhcp.pidFile, data: { ...dhcp } });
  return { entries, dhcp };
}

/** Stops DHCP and drops the leader address, newest first (stand-in of the boot branch's). */
export async function releaseLeaderDuties(
  node: NodeFacts,
  entries: readonly LeaderDutyEntry[],
  options: { store?: ClusterStore; onEvent?: EventSink } = {},
): Promise<void> {
  const ctx: ServiceContext = { node, signal: new AbortController().signal, onEvent: options.onEvent ?? ignoreEvents };
  for (const entry of [...entries].reverse()) {
    if (entry.kind === JOURNAL_KINDS.dhcpServer) {
      if (options.store) await syncLeaseTable(options.store, node.paths.dnsmasq.leaseFile).catch(() => undefined);
      await nodeDnsmasq(node, String(entry.data.link)).stop();
    } else if (entry.kind === JOURNAL_KINDS.leaderAddress) {
      await releaseLeaderAddress(ctx, String(entry.data.link), String(entry.data.cidr));
    }
  }
}

/** Stand-in store key of the mirrored lease file (the boot branch's table lives at `dhcp/leases`). */
const LOCAL_LEASES_KEY = 'dhcp/leases-file';

/** Mirrors the lease file into the store (stand-in of the dhcp package's lease table). */
export async function syncLeaseTable(store: ClusterStore, leaseFile: string): Promise<{ written: boolean }> {
  const text = await readFile(leaseFile, 'utf8').catch(() => '');
  const current = await store.get(LOCAL_LEASES_KEY);
  if (current?.value === text) return { written: false };
  await store.put(LOCAL_LEASES_KEY, text);
  return { written: true };
}

/** The cluster's identity record (`cluster-lab/cluster`). */
export interface ClusterIdentity {
  clusterId: string;
  createdAt: string;
  consulServers: number;
  managers: number;
  swarmClusterId?: string;
}

const CLUSTER_IDENTITY_KEY = 'cluster';

/** The identity record, or undefined. */
export async function readClusterIdentity(store: ClusterStore): Promise<ClusterIdentity | undefined> {
  const text = (await store.get(CLUSTER_IDENTITY_KEY))?.value;
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ClusterIdentity>;
    return typeof value.clusterId === 'string' && value.clusterId ? (value as ClusterIdentity) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the identity of a cluster, create-only. */
export async function registerCluster(
  store: ClusterStore,
  input: { consulServers: number; managers: number; clusterId?: string },
): Promise<{ identity: ClusterIdentity; created: boolean }> {
  const identity: ClusterIdentity = {
    clusterId: input.clusterId ?? randomUUID(),
    createdAt: new Date().toISOString(),
    consulServers: input.consulServers,
    managers: input.managers,
  };
  if (await store.cas(CLUSTER_IDENTITY_KEY, JSON.stringify(identity), 0)) return { identity, created: true };
  return { identity: (await readClusterIdentity(store)) ?? identity, created: false };
}

/** The one slot table (Consul server + Swarm manager), kept as the swarm package's `slots` record. */
const ROLE_SLOTS = swarmKeys();

/** Claims a slot for `hostname` if one is free (or it holds one already). */
export async function claimRoleSlot(
  store: ClusterStore,
  hostname: string,
  options: { slots: number; signal?: AbortSignal },
): Promise<boolean> {
  return withSlotsLock(store, async () => {
    const slots = (await readJson<ManagerSlots>(store, ROLE_SLOTS.slots))?.value ?? emptySlots();
    const decision = takeManagerSlot({ slots, hostname, desired: options.slots, now: Date.now() });
    if (decision.changed) await writeJson(store, ROLE_SLOTS.slots, decision.slots);
    return decision.role === 'manager';
  });
}

/** Frees `hostname`'s slot; false when it held none. */
export async function releaseRoleSlot(store: ClusterStore, hostname: string): Promise<boolean> {
  return withSlotsLock(store, async () => {
    const slots = (await readJson<ManagerSlots>(store, ROLE_SLOTS.slots))?.value ?? emptySlots();
    if (!slots.holders[hostname]) return false;
    await writeJson(store, ROLE_SLOTS.slots, releaseManagerSlot(slots, hostname));
    return true;
  });
}

/** Host names holding a slot. */
export async function readRoleSlots(store: ClusterStore): Promise<string[]> {
  const slots = (await readJson<ManagerSlots>(store, ROLE_SLOTS.slots))?.value ?? emptySlots();
  return Object.keys(slots.holders).sort();
}

async function withSlotsLock<T>(store: ClusterStore, fn: () => Promise<T>): Promise<T> {
  const lock: StoreLock = await store.lock(ROLE_SLOTS.slotsLock, { timeoutMs: SLOTS_LOCK_TIMEOUT_MS });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
