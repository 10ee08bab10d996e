import { ClusterLabError, isIpv4, netmaskToPrefix } from '@cluster-lab/core';
import { DhcpErrorCode } from '../dhcp-errors.js';

/** A lease a follower obtained, as reported by its DHCP client. */
export interface Lease {
  /** MAC of the link the lease is for (lower case). */
  mac: string;
  /** Leased address. */
  ip: string;
  /** Prefix length of the subnet (from the subnet-mask option). */
  prefix: number;
  /** DHCP server identifier (option 54): the address of the server that granted it. */
  serverId: string;
  /** Host name the server assigned, when it sent one. */
  hostname?: string;
  /** When the lease runs out; `null` when the server granted an infinite lease. */
  expiresAt: Date | null;
  /** Default gateway the server offered (option 3). Reported only: never installed as a route. */
  router?: string;
  /** DNS servers the server offered (option 6). Reported only. */
  dns?: string[];
}

/** The lease time DHCP uses for "infinite" (0xffffffff). */
export const INFINITE_LEASE_SECONDS = 0xffff_ffff;

/** Raw lease fields in the client's own vocabulary, normalised by each adapter. */
export interface LeaseFields {
  ip?: string | undefined;
  /** Prefix length (`24`) or dotted netmask (`255.255.255.0`). */
  mask?: string | undefined;
  serverId?: string | undefined;
  leaseSeconds?: string | undefined;
  hostname?: string | undefined;
  /** Space-separated router list. */
  routers?: string | undefined;
  /** Space-separated DNS list. */
  dns?: string | undefined;
}

/**
 * Builds a typed {@link Lease} from the fields a client reported at time `at`. Throws
 * `DHCP_BAD_LEASE` when the address or mask is missing or malformed.
 */
export function toLease(fields: LeaseFields, mac: string, at: Date, client: string): Lease {
  const bad = (what: string) =>
    new ClusterLabError(DhcpErrorCode.badLease, `${client} reported a lease with ${what}`, {
      hint: 'check the DHCP server configuration (dhcp-range netmask) and the client log',
    });
  if (!fields.ip || !isIpv4(fields.ip)) throw bad(`no usable address (${JSON.stringify(fields.ip ?? null)})`);
  const prefix = toPrefix(fields.mask);
  if (prefix === undefined) throw bad(`no usable netmask (${JSON.stringify(fields.mask ?? null)})`);
  const seconds = fields.leaseSeconds && /^\d+$/.test(fields.leaseSeconds) ? Number(fields.leaseSeconds) : undefined;
  const lease: Lease = {
    mac: mac.toLowerCase(),
    ip: fields.ip,
    prefix,
    serverId: fields.serverId && isIpv4(fields.serverId) ? fields.serverId : '',
    expiresAt: seconds === undefined || seconds >= INFINITE_LEASE_SECONDS ? null : new Date(at.getTime() + seconds * 1000),
  };
  if (fields.hostname) lease.hostname = fields.hostname;
  const router = splitList(fields.routers)[0];
  if (router) lease.router = router;
  const dns = splitList(fields.dns);
  if (dns.length) lease.dns = dns;
  return lease;
}

function toPrefix(mask: string | undefined): number | undefined {
  if (!mask) return undefined;
  if (/^\d{1,2}$/.test(mask)) {
    const n = Number(mask);
    return n >= 1 && n <= 32 ? n : undefined;
  }
  return netmaskToPrefix(mask);
}

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((v) => isIpv4(v));
}

/** JSON form of a {@link Lease} (dates as ISO strings) for state files and `--json` output. */
export function leaseToJson(lease: Lease): Record<string, unknown> {
  return { ...lease, expiresAt: lease.expiresAt ? lease.expiresAt.toISOString() : null };
}

/** Inverse of {@link leaseToJson}. */
export function leaseFromJson(value: Record<string, unknown>): Lease {
  const lease = { ...value } as unknown as Lease & { expiresAt: string | null };
  return { ...lease, expiresAt: lease.expiresAt ? new Date(lease.expiresAt) : null } as Lease;
}
