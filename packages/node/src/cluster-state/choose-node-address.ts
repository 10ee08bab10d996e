import { intToIpv4, ipv4ToInt } from '@cluster-lab/core';

/** An address some MAC holds: a lease of the lease database, or a reservation. */
export interface HeldAddress {
  mac: string;
  ip: string;
}

/** What {@link chooseNodeAddress} decides from. */
export interface NodeAddressInput {
  /** The DHCP range the address comes from (`dhcp.rangeStart`…`dhcp.rangeEnd`). */
  rangeStart: string;
  rangeEnd: string;
  /** Never chosen: it moves between nodes. */
  leaderAddress: string;
  /** This node's MAC on the cluster link. */
  mac: string;
  /** The address this node had before (its `cluster.json`). */
  previous?: string;
  /** Live leases of the lease database. */
  leases: readonly HeldAddress[];
  /** Reservations: `dhcp.staticLeases` and run-time ones. A reservation for this MAC is its address. */
  reservations: readonly HeldAddress[];
  /** Addresses another host answered ARP for: taken whatever the database says. */
  taken?: ReadonlySet<string>;
}

/**
 * The node address a leader gives itself (followers lease theirs): a reservation for its MAC
 * (`dhcp.staticLeases`) first; else the address it had before, if nobody else holds it; else
 * the one the lease database has for its MAC; else the lowest address of the DHCP range that
 * no lease, reservation or ARP answer claims. Undefined when the range is full. Pure.
 *
 * @example
 * ```ts
 * chooseNodeAddress({ rangeStart: '192.168.200.101', rangeEnd: '192.168.200.200', leaderAddress: '192.168.200.1',
 *   mac: '02:00:00:00:00:01', leases: [{ mac: '02:00:00:00:00:02', ip: '192.168.200.101' }], reservations: [] });
 * // '192.168.200.102'
 * ```
 */
export function chooseNodeAddress(input: NodeAddressInput): string | undefined {
  const mac = input.mac.toLowerCase();
  const start = ipv4ToInt(input.rangeStart);
  const end = ipv4ToInt(input.rangeEnd);
  const holders = [...input.leases, ...input.reservations];
  const heldByOther = (ip: string) => holders.some((h) => h.ip === ip && h.mac.toLowerCase() !== mac);
  const free = (ip: string) => ip !== input.leaderAddress && !heldByOther(ip) && !input.taken?.has(ip);
  const inRange = (ip: string) => ipv4ToInt(ip) >= start && ipv4ToInt(ip) <= end;

  const reserved = input.reservations.find((r) => r.mac.toLowerCase() === mac);
  if (reserved && free(reserved.ip)) return reserved.ip;
  if (input.previous && inRange(input.previous) && free(input.previous)) return input.previous;
  const leased = input.leases.find((l) => l.mac.toLowerCase() === mac);
  if (leased && inRange(leased.ip) && free(leased.ip)) return leased.ip;
  for (let n = start; n <= end; n++) {
    const ip = intToIpv4(n);
    if (free(ip)) return ip;
  }
  return undefined;
}
