import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@cluster-lab/core';
import type { Lease } from './lease.js';
import type { LeaseRefusalReason } from './validate-lease.js';

/** One refused lease, as {@link recordLeaseRefusal} keeps it (no secret in it: leases are not secret). */
export interface LeaseRefusal {
  at: string;
  reason: LeaseRefusalReason;
  /** The server identifier the lease named ('' when it named none). */
  serverId: string;
  /** `ip/prefix` as offered. */
  lease: string;
  /** The log line (`validateLease`'s message). */
  message: string;
}

/** The refused-lease counters of one DHCP client, kept in a small state file beside its lease. */
export interface LeaseRefusals {
  count: number;
  byReason: Partial<Record<LeaseRefusalReason, number>>;
  /** Refusals per server identifier: the rogue servers heard on the cluster link. */
  byServer: Record<string, number>;
  last?: LeaseRefusal;
}

/** No refusals yet. */
export function noLeaseRefusals(): LeaseRefusals {
  return { count: 0, byReason: {}, byServer: {} };
}

/** Reads the refusal counters at `path`; none when the file does not exist (or is not ours). */
export async function readLeaseRefusals(path: string): Promise<LeaseRefusals> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as LeaseRefusals;
    return typeof value.count === 'number' ? value : noLeaseRefusals();
  } catch {
    return noLeaseRefusals();
  }
}

/** Adds one refusal to `counters` (pure). */
export function addLeaseRefusal(
  counters: LeaseRefusals,
  lease: Pick<Lease, 'ip' | 'prefix' | 'serverId'>,
  reason: LeaseRefusalReason,
  message: string,
  at = new Date(),
): LeaseRefusals {
  const server = lease.serverId || '(none)';
  return {
    count: counters.count + 1,
    byReason: { ...counters.byReason, [reason]: (counters.byReason[reason] ?? 0) + 1 },
    byServer: { ...counters.byServer, [server]: (counters.byServer[server] ?? 0) + 1 },
    last: { at: at.toISOString(), reason, serverId: lease.serverId, lease: `${lease.ip}/${lease.prefix}`, message },
  };
}

/** Counts one refused lease in the state file at `path` (atomically); returns the new counters. */
export async function recordLeaseRefusal(
  path: string,
  lease: Pick<Lease, 'ip' | 'prefix' | 'serverId'>,
  reason: LeaseRefusalReason,
  message: string,
): Promise<LeaseRefusals> {
  const next = addLeaseRefusal(await readLeaseRefusals(path), lease, reason, message);
  await writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`, 0o644);
  return next;
}

/** `server-not-leader ×3, wrong-prefix ×1` */
export function describeRefusalReasons(counters: LeaseRefusals): string {
  return Object.entries(counters.byReason)
    .map(([reason, n]) => `${reason} ×${n}`)
    .join(', ');
}
