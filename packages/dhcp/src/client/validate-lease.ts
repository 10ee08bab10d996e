import { type ClusterConfig, cidrContains, ipv4ToInt, isIpv4, parseCidr } from '@cluster-lab/core';
import type { Lease } from './lease.js';

/**
 * What a follower accepts a lease against: the configured subnet and DHCP range, the static
 * leases, and the addresses the authenticated leader serves from.
 */
export interface LeasePolicy {
  /** The cluster subnet (`config.subnet`), e.g. `192.168.200.0/24`. */
  subnet: string;
  rangeStart: string;
  rangeEnd: string;
  staticLeases: readonly { mac: string; ip: string }[];
  /**
   * Server identifiers accepted (DHCP option 54): the leader address, and the node address of the
   * leader that won the authenticated election. A lease from anywhere else is a rogue's.
   */
  serverAddresses: readonly string[];
  /** Never accepted as a lease: the leader address (the VIP). */
  leaderAddress: string;
}

/** Why a lease was refused. */
export type LeaseRefusalReason =
  | 'malformed'
  | 'no-server-id'
  | 'server-not-leader'
  | 'wrong-prefix'
  | 'outside-subnet'
  | 'reserved-address'
  | 'static-for-other-mac'
  | 'outside-range';

/** Every {@link LeaseRefusalReason}, e.g. to initialise health counters. */
export const LEASE_REFUSAL_REASONS: readonly LeaseRefusalReason[] = [
  'malformed',
  'no-server-id',
  'server-not-leader',
  'wrong-prefix',
  'outside-subnet',
  'reserved-address',
  'static-for-other-mac',
  'outside-range',
];

/** Outcome of {@link validateLease}: accepted, or refused with a reason (for the counter) and a log line. */
export type LeaseVerdict = { ok: true } | { ok: false; reason: LeaseRefusalReason; message: string };

/**
 * The policy for a follower: from the config, plus the node address of the authenticated
 * leader when the election told us one (the leader address itself is always accepted).
 *
 * @example
 * ```ts
 * const policy = leasePolicy(config, [leader.nodeAddress]);
 * ```
 */
export function leasePolicy(config: ClusterConfig, authenticatedLeaderAddresses: readonly string[] = []): LeasePolicy {
  return {
    subnet: config.subnet,
    rangeStart: config.dhcp.rangeStart,
    rangeEnd: config.dhcp.rangeEnd,
    staticLeases: config.dhcp.staticLeases.map(({ mac, ip }) => ({ mac, ip })),
    serverAddresses: [...new Set([config.leaderAddress, ...authenticatedLeaderAddresses])],
    leaderAddress: config.leaderAddress,
  };
}

/**
 * Decides whether a follower may apply `lease`. Accepted only when all hold:
 * - the server identifier is one of `policy.serverAddresses` (the leader address or the
 *   authenticated leader's node address) — not merely an address inside the subnet;
 * - the prefix equals the subnet's (a rogue's mask 128.0.0.0 would otherwise turn
 *   `192.168.200.50` into `192.168.200.50/1` on the cluster link, routing half the internet there);
 * - the address is a host address of the subnet other than the leader address, and lies in the
 *   DHCP range or is the static lease of this MAC.
 *
 * Pure: the caller logs `message` and counts `reason` (health reports the counts).
 *
 * @example
 * ```ts
 * const verdict = validateLease(lease, leasePolicy(config, [leaderNodeAddress]));
 * if (!verdict.ok) { log(verdict.message); refused[verdict.reason]++; }
 * ```
 */
export function validateLease(lease: Pick<Lease, 'ip' | 'prefix' | 'serverId' | 'mac'>, policy: LeasePolicy): LeaseVerdict {
  const shown = `${lease.ip}/${lease.prefix}`;
  const refuse = (reason: LeaseRefusalReason, why: string): LeaseVerdict => ({
    ok: false,
    reason,
    message: `refused DHCP lease ${shown} from ${lease.serverId || 'an unnamed server'}: ${why}`,
  });
  const net = parseCidr(policy.subnet);
  if (!net) throw new TypeError(`lease policy subnet is not a CIDR: ${policy.subnet}`);
  if (!isIpv4(lease.ip) || !Number.isInteger(lease.prefix) || lease.prefix < 0 || lease.prefix > 32) {
    return refuse('malformed', 'the address or prefix is not valid');
  }
  if (!lease.serverId) return refuse('no-server-id', 'the offer names no server (option 54), so it cannot be from the leader');
  if (!policy.serverAddresses.includes(lease.serverId)) {
    return refuse(
      'server-not-leader',
      `the server is not the authenticated leader (${policy.serverAddresses.join(' or ')}): a rogue DHCP server?`,
    );
  }
  if (lease.prefix !== net.prefix)
    return refuse('wrong-prefix', `prefix /${lease.prefix} is not the cluster subnet's /${net.prefix} (${policy.subnet})`);
  if (!cidrContains(net, lease.ip)) return refuse('outside-subnet', `the address is outside the cluster subnet ${policy.subnet}`);
  if (lease.ip === net.network || lease.ip === net.broadcast || lease.ip === policy.leaderAddress) {
    return refuse('reserved-address', 'the address is the network, broadcast or leader address');
  }
  const statics = policy.staticLeases.filter((s) => s.ip === lease.ip);
  const mac = lease.mac.toLowerCase();
  if (statics.length > 0) {
    return statics.some((s) => s.mac.toLowerCase() === mac)
      ? { ok: true }
      : refuse('static-for-other-mac', `the address is reserved for ${statics.map((s) => s.mac).join(', ')}, not ${mac}`);
  }
  const ip = ipv4ToInt(lease.ip);
  if (ip < ipv4ToInt(policy.rangeStart) || ip > ipv4ToInt(policy.rangeEnd)) {
    return refuse('outside-range', `the address is outside the DHCP range ${policy.rangeStart}-${policy.rangeEnd} and not a static lease`);
  }
  return { ok: true };
}
