import { CommandError, type CommandRunner, isClusterLabError, type Link, type Network } from '@cluster-lab/core';
import { BackendError } from './backend-error.js';

/** Which kind of cluster link a backend builds (`config.network.backend`). */
export type BackendKind = 'vlan' | 'native' | 'vxlan';

/** The cluster link as it is after {@link NetworkBackend.ensure}. */
export interface ClusterLink {
  /** Interface name, e.g. `eth0.200`, `eth1`, `vx200`. */
  name: string;
  /** MAC address (lower case); the election ties on it. */
  mac: string;
  mtu: number;
  /** Administratively up. */
  up: boolean;
  /** IPv4 addresses on the link as CIDRs (`192.168.200.1/24`); empty on a fresh link. */
  addresses: string[];
}

/**
 * What {@link NetworkBackend.ensure} did. The boot flow journals `created`/`broughtUp` and passes
 * them back to {@link NetworkBackend.teardown} so `stop` undoes exactly this and nothing more.
 */
export interface EnsureResult {
  link: ClusterLink;
  /** ensure() created the link (vlan/vxlan). Never true for native. */
  created: boolean;
  /** ensure() set the link up (it was down before). */
  broughtUp: boolean;
}

/** The part of an {@link EnsureResult} teardown needs (what the journal stores). */
export interface TeardownState {
  created: boolean;
  broughtUp: boolean;
}

/** One thing wrong with the cluster link, for `cluster-lab health`. */
export interface BackendProblem {
  /** Stable code, e.g. `LINK_MISSING`, `VLAN_ID_MISMATCH`, `UPLINK_DOWN`. */
  code: string;
  /** What is wrong, naming the link and the values. */
  message: string;
  /** How to fix it. */
  hint: string;
}

/** The state of the cluster link compared with the configuration (see {@link NetworkBackend.describe}). */
export interface BackendDescription {
  kind: BackendKind;
  /** Expected cluster link name. */
  name: string;
  /** The uplink the link is built on (native: the cluster NIC itself). */
  uplink: string;
  exists: boolean;
  up: boolean;
  /** The existing link is the kind this backend builds (always true for native when it exists). */
  kindMatches: boolean;
  /** Kernel kind of the existing link (`vlan`, `vxlan`, `veth`; undefined for a physical NIC). */
  actualKind?: string;
  mtu?: number;
  /** MTU the configuration asks for, when it asks for one. */
  expectedMtu?: number;
  mac?: string;
  /** IPv4 CIDRs on the link. */
  addresses: string[];
  /** vlan: the link's 802.1Q id. */
  vlanId?: number;
  /** vxlan: the link's VNI, UDP port, multicast group and the static peers in its forwarding table. */
  vni?: number;
  port?: number;
  group?: string;
  peers?: string[];
  /** Everything that does not match; empty when healthy. */
  problems: BackendProblem[];
  /** True when `problems` is empty. */
  ok: boolean;
}

/**
 * Builds and removes the cluster link on top of the uplink. Implementations never change the
 * uplink's addresses or routes, never delete a link they did not create, and are idempotent:
 * `ensure()` twice creates once, `teardown()` of something already gone succeeds.
 *
 * @example
 * ```ts
 * const backend = createBackend(config, { network: new IpRoute2(runner), runner });
 * const result = await backend.ensure();            // journal { created, broughtUp }
 * console.log(result.link.name, result.link.mac);
 * // … later, in `stop`:
 * await backend.teardown({ created: result.created, broughtUp: result.broughtUp });
 * ```
 */
export interface NetworkBackend {
  readonly kind: BackendKind;
  /** Name of the cluster link this backend manages. */
  readonly linkName: string;
  /** The uplink (vlan/vxlan) or the cluster NIC itself (native). */
  readonly uplink: string;
  /**
   * Makes the cluster link exist and be up. Throws a {@link BackendError} when it cannot (kernel
   * without 802.1Q, missing uplink/NIC, a different link already holding the name…).
   */
  ensure(): Promise<EnsureResult>;
  /**
   * Undoes what `ensure()` did: deletes the link only when `previous.created`, sets it down only
   * when `previous.broughtUp`. Without `previous` it uses what this instance's last `ensure()`
   * did; an instance that never ensured changes nothing. Returns true when it changed something.
   */
  teardown(previous?: TeardownState): Promise<boolean>;
  /** Reads the link's state and lists what does not match the configuration. Never changes anything. */
  describe(): Promise<BackendDescription>;
}

/** What every backend needs: the network of the node it acts on and a command runner there. */
export interface BackendDeps {
  /** Network of the node (e.g. `new IpRoute2(runner)` or a lab node's `ip`). */
  network: Network;
  /** Runs commands on the node (vxlan uses it for `bridge fdb`; the others accept it for symmetry). */
  runner: CommandRunner;
}

/** Reads the {@link ClusterLink} view of `link` (IPv4 addresses only). */
export async function readClusterLink(network: Network, link: Link): Promise<ClusterLink> {
  const addresses = (await network.listAddresses(link.name)).filter((a) => a.family === 'inet').map((a) => a.cidr);
  return { name: link.name, mac: link.mac, mtu: link.mtu, up: link.up, addresses };
}

/** Names of the links a user could mean (everything but loopback), for "use one of" hints. */
export async function availableInterfaces(network: Network): Promise<string[]> {
  return (await network.listLinks()).map((l) => l.name).filter((n) => n !== 'lo');
}

/** Throws `UPLINK_NOT_FOUND` when the uplink is missing; returns it otherwise. */
export async function requireUplink(network: Network, uplink: string): Promise<Link> {
  const link = await network.getLink(uplink);
  if (link) return link;
  const available = await availableInterfaces(network);
  throw new BackendError(
    'UPLINK_NOT_FOUND',
    `uplink interface "${uplink}" does not exist${network.netns ? ` in namespace ${network.netns}` : ''}`,
    {
      hint: available.length ? `set \`interface\` to one of: ${available.join(', ')}` : 'check the interface name with `ip link show`',
      errorClass: 'config',
    },
  );
}

/**
 * Sets `name` down when `broughtUp` says ensure() brought it up and it still is; true when it did.
 * A link that is already gone needs no undoing.
 */
export async function undoBringUp(network: Network, name: string, broughtUp: boolean): Promise<boolean> {
  if (!broughtUp) return false;
  const link = await network.getLink(name);
  if (!link?.up) return false;
  await network.setDown(name);
  return true;
}

/** What {@link ensureCreatedLink} needs from a backend that creates its link. */
export interface CreatedLinkOps {
  /** The existing link is the one this backend would create (kind, id, parent…). */
  isOurs(link: Link): boolean;
  /** The error for a same-named link of another identity. */
  conflict(link: Link): Error;
  /** Adds the link; false when a link of that name appeared meanwhile (`File exists`). */
  create(): Promise<boolean>;
  /** Runs after the link is up (e.g. vxlan forwarding entries); a failure undoes a fresh link. */
  afterUp?(): Promise<void>;
}

/**
 * Ensure shared by the backends that create their link (vlan, vxlan): reuse the link when it is
 * ours, create it otherwise (tolerating a concurrent creator only if what it made is ours), bring
 * it up, and delete a link made here again if anything after that fails — nothing half-done stays.
 */
export async function ensureCreatedLink(
  network: Network,
  name: string,
  ops: CreatedLinkOps,
): Promise<{ link: Link; created: boolean; broughtUp: boolean }> {
  let link = await network.getLink(name);
  if (link && !ops.isOurs(link)) throw ops.conflict(link);
  let created = false;
  if (!link) {
    created = await ops.create();
    if (!created) {
      // Another process made it between our read and our add: reuse it only if it is ours.
      link = await network.requireLink(name);
      if (!ops.isOurs(link)) throw ops.conflict(link);
    }
  }
  let broughtUp = false;
  try {
    // The kernel creates links down: a link we just made needs no extra read before `up`.
    if (created || !link?.up) {
      await network.setUp(name);
      broughtUp = true;
      link = await network.requireLink(name);
    }
    await ops.afterUp?.();
  } catch (error) {
    if (created) await network.delLink(name);
    throw error;
  }
  return { link: link as Link, created, broughtUp };
}

/**
 * Teardown shared by the backends that create their link (vlan, vxlan): delete the link only
 * when `ensure()` created it and it still is ours — a same-named link of another identity belongs
 * to someone else — otherwise undo only a bring-up. True when something changed.
 */
export async function teardownCreatedLink(
  network: Network,
  name: string,
  state: TeardownState | undefined,
  isOurs: (link: Link) => boolean,
): Promise<boolean> {
  if (!state) return false;
  if (state.created) {
    const link = await network.getLink(name);
    if (!link || !isOurs(link)) return false;
    return network.delLink(name);
  }
  return undoBringUp(network, name, state.broughtUp);
}

/** A problem entry (helper for describe()). */
export function problem(code: string, message: string, hint: string): BackendProblem {
  return { code, message, hint };
}

/**
 * When `error` says the kernel cannot make links of a kind (`ip link add` answered "Unknown
 * device type" / "Operation not supported", raw or already mapped by IpRoute2 to
 * `LINK_KIND_UNSUPPORTED`), returns the failing command and `ip`'s message; otherwise undefined.
 */
export function unsupportedLinkKind(error: unknown): { command: string; stderr: string } | undefined {
  const unsupported = /Unknown device type|Operation not supported/i;
  if (error instanceof CommandError)
    return unsupported.test(error.stderr) ? { command: error.command, stderr: error.stderr.trim() } : undefined;
  if (isClusterLabError(error) && error.code === 'LINK_KIND_UNSUPPORTED') {
    const cause = (error as Error).cause;
    if (cause instanceof CommandError) return { command: cause.command, stderr: cause.stderr.trim() };
    return { command: 'ip link add', stderr: (error as Error).message };
  }
  return undefined;
}
