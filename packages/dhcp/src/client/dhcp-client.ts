import type { ClusterConfig, CommandRunner, EventSink, Network } from '@cluster-lab/core';
import type { Lease } from './lease.js';
import type { LeaseRefusals } from './lease-refusals.js';

/** The DHCP client programs we drive. */
export type DhcpClientKind = 'udhcpc' | 'dhclient' | 'dhcpcd';

/** Options of {@link DhcpClient.obtain}. */
export interface ObtainOptions {
  /** How long to wait for a server. Default: `config.dhcp.timeoutSeconds`. Rounded up to whole seconds. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The background process that keeps a lease renewed. */
export interface RenewalHandle {
  pid: number;
  pidFile: string;
  /** False when it was already running (idempotent start). */
  started: boolean;
}

/** What `obtain` applied, persisted so `release` works from another process (`cluster-lab stop`). */
export interface AppliedLease {
  kind: DhcpClientKind;
  link: string;
  lease: Lease;
  /** Address added to the link, e.g. `192.168.200.101/24`. */
  cidr: string;
  /** True when this node added the address (release removes it); false when it was already there. */
  added: boolean;
}

/**
 * A follower's DHCP client on the cluster link. `obtain` runs the client in the foreground
 * with a timeout; the client's hook reports the lease as JSON and this object applies only the
 * address to the link through core's `Network` — never a route, so the cluster lease can never
 * replace the node's default route to the internet (`lease.router` is reported, not installed).
 *
 * @example
 * ```ts
 * await using client = await createDhcpClient({ runner, network, config, link: 'eth0.200' });
 * const lease = await client.obtain({ timeoutMs: 5000 });
 * await client.startRenewal();
 * ```
 */
export interface DhcpClient extends AsyncDisposable {
  readonly kind: DhcpClientKind;
  readonly link: string;
  /** Obtains a lease and adds its address to the link. Throws {@link NoDhcpServerError} on timeout. */
  obtain(options?: ObtainOptions): Promise<Lease>;
  /** Starts (or finds) the detached client process that renews the lease; survives this process. */
  startRenewal(): Promise<RenewalHandle>;
  /** The lease this node applied (from the state file), or undefined. */
  current(): Promise<AppliedLease | undefined>;
  /** Pid of the running renewal process, or undefined when none runs. */
  renewalPid(): Promise<number | undefined>;
  /**
   * The latest lease the renewal process reported that the lease policy accepts (may differ from
   * {@link current} after a server change); a rogue server's lease never counts.
   */
  renewed(): Promise<Lease | undefined>;
  /** Counters of the leases refused on this link (by `obtain`, the renewal, or reported since). */
  refusals(): Promise<LeaseRefusals>;
  /**
   * Sends a DHCP release, stops the renewal process and removes the address `obtain` added.
   * Returns false when there was nothing to release. Safe to call twice, and from another process.
   */
  release(): Promise<boolean>;
}

/** Options shared by every adapter. */
export interface DhcpClientOptions {
  /** Runs the client program (in the lab: the node's runner, inside its namespace). */
  runner: CommandRunner;
  /** Applies the address (in the lab: the node's `ip`). */
  network: Network;
  config: ClusterConfig;
  /** The cluster link to lease on. */
  link: string;
  /** Absolute path (or name) of the client program. Default: the adapter's program name. */
  executable?: string;
  /** Host name to send (option 12). Default: `config.hostname`, else none. */
  hostname?: string;
  /**
   * Server identifiers a lease may come from besides the leader address (`config.leaderAddress`,
   * always allowed): the node address of the leader that won the authenticated election, when
   * its DHCP server identifies with it. A lease from any other server is refused.
   */
  allowedServerIds?: readonly string[];
  /** Receives a `warn` log event for every refused lease. */
  events?: EventSink;
}
