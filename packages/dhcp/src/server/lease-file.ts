import { isIpv4 } from '@cluster-lab/core';

/** One lease from dnsmasq's lease database, as the server sees it. */
export interface ServerLease {
  /** Client MAC (lower case). */
  mac: string;
  ip: string;
  /** Host name the client sent, when it sent one. */
  hostname?: string;
  /** DHCP client identifier (option 61) as dnsmasq stores it, when the client sent one. */
  clientId?: string;
  /** When the lease runs out; `null` for an infinite lease (dnsmasq writes expiry `0`). */
  expiresAt: Date | null;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * Parses dnsmasq's lease file (`dhcp-leasefile`). Each IPv4 line is
 * `<expiry epoch seconds> <mac> <ip> <hostname|*> <client-id|*>`; expiry `0` means infinite and
 * `*` means "not sent". IPv6 lines (after a `duid` line) and malformed lines are skipped, so a
 * half-written file never breaks `status`.
 *
 * @example
 * ```ts
 * parseLeaseFile('1764000000 52:54:00:12:34:56 192.168.200.101 node2 01:52:54:00:12:34:56\n');
 * // [{ mac: '52:54:00:12:34:56', ip: '192.168.200.101', hostname: 'node2', clientId: '01:52:…', expiresAt: Date }]
 * ```
 */
export function parseLeaseFile(text: string): ServerLease[] {
  const leases: ServerLease[] = [];
  for (const raw of text.split('\n')) {
    const fields = raw.trim().split(/\s+/);
    if (fields.length < 4 || fields[0] === 'duid') continue;
    const [expiry, mac, ip, hostname, clientId] = fields as [string, string, string, string, string | undefined];
    if (!/^\d+$/.test(expiry) || !MAC.test(mac) || !isIpv4(ip)) continue;
    const seconds = Number(expiry);
    const lease: ServerLease = { mac: mac.toLowerCase(), ip, expiresAt: seconds === 0 ? null : new Date(seconds * 1000) };
    if (hostname !== '*') lease.hostname = hostname;
    if (clientId !== undefined && clientId !== '*') lease.clientId = clientId;
    leases.push(lease);
  }
  return leases;
}
