import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClusterLabError, type ClusterStore, writeFileAtomic } from '@cluster-lab/core';
import { parseHostsFile, type Reservation } from './dnsmasq-config.js';
import { parseLeaseFile, type ServerLease } from './lease-file.js';

/**
 * Where the replicated lease table lives in the cluster store (`cluster-lab/dhcp/leases` with
 * Consul's default store prefix): one JSON value, so one compare-and-set covers the whole table.
 */
export const LEASE_TABLE_KEY = 'dhcp/leases';

/** How often {@link syncLeaseTable} retries after losing a compare-and-set to another writer. */
const CAS_ATTEMPTS = 5;

/** One lease of the table: dnsmasq's lease line as data. */
export interface TableLease {
  mac: string;
  ip: string;
  hostname?: string;
  clientId?: string;
  /** Expiry in epoch seconds; 0 = infinite (dnsmasq's own notation). */
  expires: number;
}

/** The lease table as stored under {@link LEASE_TABLE_KEY}. */
export interface LeaseTable {
  version: 1;
  updatedAt: string;
  /** Leases handed out by the DHCP server that wrote the table, expired ones left out. */
  leases: TableLease[];
  /** Addresses reserved by MAC (the VIP holder's node address, managers, `dhcp.staticLeases`). */
  reservations: Reservation[];
}

/** Options of {@link syncLeaseTable}. */
export interface SyncLeaseTableOptions {
  /** dnsmasq's `dhcp-hostsfile` (its reservations); default `dnsmasq.hosts` beside the lease file. */
  hostsFile?: string;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

/** What {@link syncLeaseTable} did. */
export interface SyncLeaseTableResult {
  /** False when the table already said the same (nothing written). */
  written: boolean;
  leases: number;
  reservations: number;
}

/**
 * Mirrors the DHCP server's lease database into the cluster store, so the next holder of the
 * leader address can restore it ({@link restoreLeaseFile}) and never hands out an address twice.
 * Call it on the node that serves DHCP whenever the lease file changed (dnsmasq rewrites it on
 * every lease). The lease file is the truth for leases; reservations already in the table stay
 * (they are removed explicitly, not by a DHCP server that never knew them). Written with
 * compare-and-set: when another writer got in between (two servers during a partition), both
 * sets of leases are merged — per address the lease that runs longer wins — so none is lost. Expired leases
 * are left out. Writes nothing when the table already says the same.
 *
 * @example
 * ```ts
 * const store = new ConsulStore(node.localConsul());
 * await syncLeaseTable(store, '/var/lib/cluster-lab/dhcp/dnsmasq.leases');
 * ```
 */
export async function syncLeaseTable(
  store: ClusterStore,
  leaseFile: string,
  options: SyncLeaseTableOptions = {},
): Promise<SyncLeaseTableResult> {
  const now = options.now ?? Date.now;
  const hostsFile = options.hostsFile ?? join(dirname(leaseFile), 'dnsmasq.hosts');
  const local = live((await readLeaseFile(leaseFile)).map(toTableLease), now());
  const localReservations = parseHostsFile(await readText(hostsFile));
  for (let attempt = 1; ; attempt++) {
    const stored = await store.get(LEASE_TABLE_KEY);
    const remote = stored ? parseLeaseTable(stored.value) : undefined;
    const leases = remote && attempt > 1 ? mergeLeases(local, live(remote.leases, now())) : local;
    const reservations = mergeReservations(localReservations, remote?.reservations ?? []);
    const table: LeaseTable = { version: 1, updatedAt: new Date(now()).toISOString(), leases: sortByIp(leases), reservations };
    if (remote && sameContent(remote, table)) return { written: false, leases: leases.length, reservations: reservations.length };
    if (await store.cas(LEASE_TABLE_KEY, JSON.stringify(table), stored?.index ?? 0)) {
      return { written: true, leases: leases.length, reservations: reservations.length };
    }
    if (attempt >= CAS_ATTEMPTS) {
      throw new ClusterLabError(
        'DHCP_LEASE_TABLE_CONTENDED',
        `the lease table at ${LEASE_TABLE_KEY} changed under each of ${CAS_ATTEMPTS} writes`,
        {
          hint: 'another node writes it at the same time: are two nodes serving DHCP? check `cluster-lab health` on both',
        },
      );
    }
  }
}

/** What {@link restoreLeaseFile} did. */
export interface RestoreLeaseFileResult {
  /** Leases from the table that the lease file did not have (or had with an earlier expiry). */
  restored: number;
  /** The table's reservations: hand them to `dnsmasqServer({ reservations })`. */
  reservations: Reservation[];
  /** False when the store holds no lease table (the file is left as it was). */
  found: boolean;
}

/**
 * Writes the replicated lease table into dnsmasq's lease file, before dnsmasq starts (a running
 * dnsmasq keeps its leases in memory and overwrites the file). Per address, the lease with the
 * later expiry wins (infinite beats everything), so a lease file that is newer than the table
 * loses nothing; expired leases are dropped. The table's reservations are returned for the hosts
 * file. dnsmasq then offers every client the address it held, and no client another's.
 *
 * @example
 * ```ts
 * const { reservations } = await restoreLeaseFile(store, paths.leaseFile);
 * await dnsmasqServer({ runner, config, link, reservations }).start();
 * ```
 */
export async function restoreLeaseFile(
  store: ClusterStore,
  leaseFile: string,
  options: { now?: () => number } = {},
): Promise<RestoreLeaseFileResult> {
  const now = options.now ?? Date.now;
  const stored = await store.get(LEASE_TABLE_KEY);
  const table = stored ? parseLeaseTable(stored.value) : undefined;
  if (!table) return { restored: 0, reservations: [], found: false };
  const local = live((await readLeaseFile(leaseFile)).map(toTableLease), now());
  const merged = mergeLeases(live(table.leases, now()), local);
  const restored = merged.filter((l) => !local.some((o) => o.ip === l.ip && o.mac === l.mac && o.expires === l.expires)).length;
  await mkdir(dirname(leaseFile), { recursive: true });
  await writeFileAtomic(leaseFile, renderLeaseFile(merged), 0o644);
  return { restored, reservations: table.reservations, found: true };
}

/**
 * The lease file dnsmasq reads for `leases`: `<expiry> <mac> <ip> <hostname|*> <client-id|*>` per
 * line, the format {@link parseLeaseFile} reads.
 */
export function renderLeaseFile(leases: readonly TableLease[]): string {
  return sortByIp(leases)
    .map((l) => `${l.expires} ${l.mac} ${l.ip} ${l.hostname ?? '*'} ${l.clientId ?? '*'}\n`)
    .join('');
}

/** Parses a stored {@link LeaseTable}; undefined when it is not one (a damaged value is ignored, not fatal). */
export function parseLeaseTable(text: string): LeaseTable | undefined {
  try {
    const value = JSON.parse(text) as Partial<LeaseTable>;
    if (value?.version !== 1 || !Array.isArray(value.leases) || !Array.isArray(value.reservations)) return undefined;
    return value as LeaseTable;
  } catch {
    return undefined;
  }
}

/**
 * Per address, the lease that runs longest (infinite first); a MAC keeps only its longest-running
 * address. `preferred` wins ties.
 */
function mergeLeases(preferred: readonly TableLease[], other: readonly TableLease[]): TableLease[] {
  const runsLonger = (a: TableLease, b: TableLease) => (a.expires === 0 ? b.expires !== 0 : b.expires !== 0 && a.expires > b.expires);
  const byIp = new Map<string, TableLease>();
  for (const l of [...preferred, ...other]) {
    const current = byIp.get(l.ip);
    if (!current || runsLonger(l, current)) byIp.set(l.ip, l);
  }
  const byMac = new Map<string, TableLease>();
  for (const l of byIp.values()) {
    const current = byMac.get(l.mac);
    if (!current || runsLonger(l, current)) byMac.set(l.mac, l);
  }
  return [...byMac.values()];
}

function mergeReservations(local: readonly Reservation[], remote: readonly Reservation[]): Reservation[] {
  const out = [...local];
  for (const r of remote) if (!out.some((o) => o.mac === r.mac || o.ip === r.ip)) out.push(r);
  return sortByIp(out);
}

function live(leases: readonly TableLease[], nowMs: number): TableLease[] {
  return leases.filter((l) => l.expires === 0 || l.expires * 1000 > nowMs);
}

function toTableLease(l: ServerLease): TableLease {
  return {
    mac: l.mac,
    ip: l.ip,
    ...(l.hostname ? { hostname: l.hostname } : {}),
    ...(l.clientId ? { clientId: l.clientId } : {}),
    expires: l.expiresAt === null ? 0 : Math.round(l.expiresAt.getTime() / 1000),
  };
}

function sameContent(a: LeaseTable, b: LeaseTable): boolean {
  return (
    JSON.stringify(sortByIp(a.leases)) === JSON.stringify(sortByIp(b.leases)) &&
    JSON.stringify(sortByIp(a.reservations)) === JSON.stringify(sortByIp(b.reservations))
  );
}

function sortByIp<T extends { ip: string }>(items: readonly T[]): T[] {
  const key = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  return [...items].sort((a, b) => key(a.ip) - key(b.ip));
}

async function readLeaseFile(path: string): Promise<ServerLease[]> {
  return parseLeaseFile(await readText(path));
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}
