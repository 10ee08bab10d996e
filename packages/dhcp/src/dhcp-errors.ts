import { ClusterLabError } from '@cluster-lab/core';

/** Stable error codes thrown by this package (see each function's TSDoc for when). */
export const DhcpErrorCode = {
  /** No server answered a DISCOVER in time. */
  noServer: 'DHCP_NO_SERVER',
  /** Another DHCP server already answers on the cluster link. */
  rogueServer: 'DHCP_ROGUE_SERVER',
  /** A required program (dnsmasq, udhcpc, dhclient, dhcpcd) is not installed. */
  programNotFound: 'DHCP_PROGRAM_NOT_FOUND',
  /** The link/uplink pair cannot be served (same link, loopback, bad name). */
  invalidLink: 'DHCP_INVALID_LINK',
  /** The cluster link holds no address in the cluster subnet, so dnsmasq could not serve the range. */
  linkNotInSubnet: 'DHCP_LINK_NOT_IN_SUBNET',
  /**
   * Only leases that are not the leader's arrived (wrong server id, prefix or address — a rogue
   * or foreign server answered); none was applied.
   */
  leaseRefused: 'DHCP_LEASE_REFUSED',
  /** The client reported a lease we cannot use (missing address or netmask). */
  badLease: 'DHCP_BAD_LEASE',
  /** `dhcp.enabled` is false. */
  disabled: 'DHCP_DISABLED',
} as const;

/** One of the {@link DhcpErrorCode} values. */
export type DhcpErrorCodeValue = (typeof DhcpErrorCode)[keyof typeof DhcpErrorCode];

/**
 * Thrown when no DHCP server answered within the timeout.
 *
 * @example
 * ```ts
 * try { await client.obtain(); } catch (e) { if (e instanceof NoDhcpServerError) console.error(e.message, e.hint); }
 * ```
 */
export class NoDhcpServerError extends ClusterLabError {
  readonly link: string;
  readonly timeoutSeconds: number;
  constructor(link: string, timeoutSeconds: number, cause?: unknown) {
    super(DhcpErrorCode.noServer, `no DHCP server answered within ${timeoutSeconds} s on ${link}`, {
      hint: 'is the leader up and serving DHCP (`cluster-lab status` on it)? does the switch filter VLAN tags (try network.backend: vxlan or native)?',
      cause,
    });
    this.name = 'NoDhcpServerError';
    this.link = link;
    this.timeoutSeconds = timeoutSeconds;
  }
}

/**
 * Thrown by `obtain` when every lease that arrived within the timeout was refused by
 * `validateLease` (none was applied). `servers` names who sent them.
 */
export class LeaseRefusedError extends ClusterLabError {
  readonly link: string;
  /** Server identifiers of the refused leases ('' for a lease that named none). */
  readonly servers: readonly string[];
  constructor(link: string, timeoutSeconds: number, servers: readonly string[], lastMessage: string, leaderAddresses: readonly string[]) {
    super(DhcpErrorCode.leaseRefused, `no acceptable DHCP lease on ${link} within ${timeoutSeconds} s: ${lastMessage}`, {
      hint: `a DHCP server that is not the cluster's leader answers on ${link} (${servers.map((s) => s || 'unnamed').join(', ')}): find and stop it; is the leader (${leaderAddresses.join(' or ')}) up and serving? (nothing was applied)`,
    });
    this.name = 'LeaseRefusedError';
    this.link = link;
    this.servers = servers;
  }
}

/** Thrown by the server's start when another DHCP server already answers on the cluster link. */
export class RogueDhcpServerError extends ClusterLabError {
  /** Address of the server that answered (its DHCP server identifier). */
  readonly serverId: string;
  readonly link: string;
  constructor(link: string, serverId: string) {
    super(DhcpErrorCode.rogueServer, `another DHCP server (${serverId}) already answers on ${link}; refusing to start a second one`, {
      hint: `find and stop the server at ${serverId} (another leader, or a home router reachable on the cluster link), or check that ${link} really is the isolated cluster link`,
    });
    this.name = 'RogueDhcpServerError';
    this.serverId = serverId;
    this.link = link;
  }
}
