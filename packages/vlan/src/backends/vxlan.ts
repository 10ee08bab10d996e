import { createHash } from 'node:crypto';
import { type CommandRunner, isClusterLabError, type Link, type Network } from '@cluster-lab/core';
import { BackendError } from './backend-error.js';
import { describeLink, finish, inspectUplink } from './inspect-link.js';
import {
  type BackendDeps,
  type BackendDescription,
  type EnsureResult,
  ensureCreatedLink,
  type NetworkBackend,
  problem,
  readClusterLink,
  requireUplink,
  type TeardownState,
  teardownCreatedLink,
  unsupportedLinkKind,
} from './network-backend.js';
import { validateInterfaceName, validateIpv4, validateMtu, validateVni, validateVxlanPort } from './validate-backend-input.js';

/** Default UDP port of the cluster VXLAN (4789 belongs to Docker Swarm's overlay data path). */
export const DEFAULT_VXLAN_PORT = 4790;
/** Default multicast group used when neither a group nor static peers are configured. */
export const DEFAULT_VXLAN_GROUP = '239.1.1.200';
/** Default MTU: 1500 minus the 50 bytes of VXLAN-over-IPv4 encapsulation. */
export const DEFAULT_VXLAN_MTU = 1450;
/** Bytes VXLAN adds on an IPv4 underlay (outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8). */
export const VXLAN_OVERHEAD = 50;
/** The all-zero MAC of a flooding (BUM) forwarding entry. */
const FLOOD_MAC = '00:00:00:00:00:00';

/** Settings of a {@link VxlanBackend}. */
export interface VxlanBackendOptions {
  /** Underlay NIC (the uplink), e.g. `eth0`. Its addresses and routes are never changed. */
  uplink: string;
  /** Name of the VXLAN link, e.g. `vx200`. */
  name: string;
  /** VXLAN network identifier, 1–16777215. */
  vni: number;
  /** UDP port; default {@link DEFAULT_VXLAN_PORT}. 4789 is refused. */
  port?: number;
  /** Multicast group for flooding; default {@link DEFAULT_VXLAN_GROUP} unless `peers` is set. */
  group?: string;
  /**
   * Underlay addresses of the other nodes, for networks without multicast. The node's own
   * uplink addresses may be listed too (one list for every node); they are skipped.
   */
  peers?: string[];
  /** MTU; default {@link DEFAULT_VXLAN_MTU}. At most the uplink MTU minus 50. */
  mtu?: number;
}

interface FdbEntry {
  mac?: string;
  dst?: string;
}

/**
 * The `vxlan` backend: a VXLAN overlay over the uplink, for switches that strip or filter 802.1Q
 * tags (the original's top support problem). Flooding uses a multicast group, or a static
 * peer list written as all-zero forwarding entries.
 *
 * Equivalent to:
 * `ip link add vx200 mtu 1450 type vxlan id 200 dstport 4790 group 239.1.1.200 dev eth0 && ip link set dev vx200 up`,
 * with static peers instead of a group: `bridge fdb append 00:00:00:00:00:00 dev vx200 dst <peer>` per peer.
 *
 * @example
 * ```ts
 * const backend = new VxlanBackend({ uplink: 'eth0', name: 'vx200', vni: 200, peers: ['192.168.1.11', '192.168.1.12'] }, { network, runner });
 * const { link } = await backend.ensure(); // link.mtu === 1450
 * ```
 */
export class VxlanBackend implements NetworkBackend {
  readonly kind = 'vxlan' as const;
  readonly linkName: string;
  readonly uplink: string;
  readonly vni: number;
  readonly port: number;
  /** Multicast group, or undefined with static peers. */
  readonly group: string | undefined;
  readonly peers: readonly string[];
  readonly mtu: number;
  private readonly network: Network;
  private readonly runner: CommandRunner;
  private last: TeardownState | undefined;

  constructor(options: VxlanBackendOptions, deps: BackendDeps) {
    this.uplink = validateInterfaceName(options.uplink, 'uplink interface');
    this.linkName = validateInterfaceName(options.name, 'VXLAN link name');
    if (this.linkName === this.uplink) {
      throw new BackendError('INVALID_INTERFACE_NAME', `VXLAN link name "${this.linkName}" is the uplink itself`, {
        hint: 'set network.vxlan.name to another name, e.g. vx200',
        errorClass: 'config',
      });
    }
    this.vni = validateVni(options.vni);
    this.port = validateVxlanPort(options.port ?? DEFAULT_VXLAN_PORT);
    this.mtu = validateMtu(options.mtu ?? DEFAULT_VXLAN_MTU);
    const peers = (options.peers ?? []).map((p, i) => validateIpv4(p, `network.vxlan.peers[${i}]`));
    this.peers = [...new Set(peers)];
    if (options.group !== undefined) {
      validateIpv4(options.group, 'network.vxlan.group');
      if (!/^(22[4-9]|23\d)\./.test(options.group)) {
        throw new BackendError('INVALID_ADDRESS', `network.vxlan.group "${options.group}" is not a multicast address (224.0.0.0/4)`, {
          hint: `use e.g. ${DEFAULT_VXLAN_GROUP}, or list the nodes in network.vxlan.peers`,
          errorClass: 'config',
        });
      }
      if (this.peers.length) {
        throw new BackendError('VXLAN_GROUP_AND_PEERS', 'network.vxlan has both a multicast group and static peers', {
          hint: 'set either network.vxlan.group (multicast) or network.vxlan.peers (static list), not both',
          errorClass: 'config',
        });
      }
    }
    this.group = options.group ?? (this.peers.length ? undefined : DEFAULT_VXLAN_GROUP);
    this.network = deps.network;
    this.runner = deps.runner;
  }

  /** True when `link` is this VXLAN (same VNI, port, group and underlay). */
  private isOurs(link: Link): boolean {
    const vx = link.vxlan;
    return (
      link.kind === 'vxlan' &&
      vx !== undefined &&
      vx.vni === this.vni &&
      vx.port === this.port &&
      vx.group === this.group &&
      (vx.dev === undefined || vx.dev === this.uplink)
    );
  }

  private conflict(link: Link): BackendError {
    const vx = link.vxlan;
    const what =
      link.kind === 'vxlan' && vx
        ? `VXLAN VNI ${vx.vni} port ${vx.port}${vx.group ? ` group ${vx.group}` : ''}${vx.dev ? ` on ${vx.dev}` : ''}`
        : `a ${link.kind ?? 'physical'} link`;
    return new BackendError(
      'LINK_CONFLICT',
      `interface "${this.linkName}" already exists as ${what}, not VXLAN VNI ${this.vni} port ${this.port}${this.group ? ` group ${this.group}` : ''} on ${this.uplink}`,
      {
        hint: `remove it if it is a leftover (\`ip link del dev ${this.linkName}\`) or set network.vxlan.name to another name`,
        errorClass: 'config',
      },
    );
  }

  async ensure(): Promise<EnsureResult> {
    const uplink = await requireUplink(this.network, this.uplink);
    if (this.mtu > uplink.mtu - VXLAN_OVERHEAD) {
      throw new BackendError(
        'MTU_TOO_LARGE',
        `VXLAN MTU ${this.mtu} does not fit uplink "${this.uplink}" (MTU ${uplink.mtu} minus ${VXLAN_OVERHEAD} bytes of encapsulation)`,
        { hint: `set network.mtu to ${uplink.mtu - VXLAN_OVERHEAD} or less`, errorClass: 'config' },
      );
    }
    const { link, created, broughtUp } = await ensureCreatedLink(this.network, this.linkName, {
      isOurs: (l) => this.isOurs(l),
      conflict: (l) => this.conflict(l),
      create: () => this.create(vxlanMacFor(uplink.mac, this.vni)),
      afterUp: () => this.ensurePeers(),
    });
    this.last = { created: Boolean(this.last?.created) || created, broughtUp: Boolean(this.last?.broughtUp) || broughtUp };
    return { link: await readClusterLink(this.network, link), created, broughtUp };
  }

  /** Adds the link with the given MAC; false when a link of that name appeared meanwhile (`File exists`). */
  private async create(mac: string): Promise<boolean> {
    try {
      await this.network.addLink({
        kind: 'vxlan',
        name: this.linkName,
        mac,
        vni: this.vni,
        port: this.port,
        dev: this.uplink,
        mtu: this.mtu,
        ...(this.group ? { group: this.group } : {}),
      });
      return true;
    } catch (error) {
      if (isClusterLabError(error) && error.code === 'LINK_EXISTS') return false;
      const unsupported = unsupportedLinkKind(error);
      if (unsupported) {
        throw new BackendError(
          'KERNEL_NO_VXLAN',
          `this kernel cannot create VXLAN links (\`${unsupported.command}\`: ${unsupported.stderr})`,
          {
            hint: 'load the module with `modprobe vxlan` (kernel option CONFIG_VXLAN), or use network.backend vlan or native',
            errorClass: 'dependency',
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  private bridge(args: string[]): Promise<{ stdout: string }> {
    const ns = this.network.netns ? ['-n', this.network.netns] : [];
    return this.runner.run('bridge', [...ns, ...args], { timeoutMs: 10_000 });
  }

  /** Underlay destinations of the link's flooding entries (`bridge -j fdb show dev <vx>`). */
  async floodPeers(): Promise<string[]> {
    const { stdout } = await this.bridge(['-j', 'fdb', 'show', 'dev', this.linkName]);
    const entries = JSON.parse(stdout || '[]') as FdbEntry[];
    return entries.filter((e) => e.mac === FLOOD_MAC && typeof e.dst === 'string').map((e) => e.dst as string);
  }

  /** Configured peers minus this node's own uplink addresses. */
  private async remotePeers(): Promise<string[]> {
    if (!this.peers.length) return [];
    const own = new Set((await this.network.listAddresses(this.uplink)).map((a) => a.local));
    return this.peers.filter((p) => !own.has(p));
  }

  private async ensurePeers(): Promise<void> {
    const wanted = await this.remotePeers();
    if (!wanted.length) return;
    const present = new Set(await this.floodPeers());
    for (const peer of wanted) {
      if (!present.has(peer)) await this.bridge(['fdb', 'append', FLOOD_MAC, 'dev', this.linkName, 'dst', peer]);
    }
  }

  async teardown(previous?: TeardownState): Promise<boolean> {
    const state = previous ?? this.last;
    this.last = undefined;
    return teardownCreatedLink(this.network, this.linkName, state, (link) => this.isOurs(link));
  }

  async describe(): Promise<BackendDescription> {
    const uplink = await inspectUplink(this.network, this.uplink);
    const link = await this.network.getLink(this.linkName);
    const d = await describeLink(
      this.network,
      { kind: 'vxlan', name: this.linkName, uplink: this.uplink, expectedMtu: this.mtu, missingHint: 'run `cluster-lab start`' },
      link,
      uplink.problems,
    );
    if (uplink.link && !(await this.network.listAddresses(this.uplink)).some((a) => a.family === 'inet')) {
      d.problems.push(
        problem(
          'UNDERLAY_NO_ADDRESS',
          `uplink "${this.uplink}" has no IPv4 address, so VXLAN packets cannot be sent`,
          'give the uplink an address (DHCP from the home router or static)',
        ),
      );
    }
    if (!link) return finish(d);
    d.kindMatches = link.kind === 'vxlan';
    if (!d.kindMatches || !link.vxlan) {
      d.problems.push(
        problem(
          'KIND_MISMATCH',
          `"${link.name}" is a ${link.kind ?? 'physical'} link, not a VXLAN`,
          `remove it (\`ip link del dev ${link.name}\`) and run \`cluster-lab start\``,
        ),
      );
      return finish(d);
    }
    const vx = link.vxlan;
    d.vni = vx.vni;
    d.port = vx.port;
    if (vx.group) d.group = vx.group;
    const redo = `remove it (\`ip link del dev ${link.name}\`) and run \`cluster-lab start\``;
    if (vx.vni !== this.vni)
      d.problems.push(problem('VNI_MISMATCH', `"${link.name}" has VNI ${vx.vni}, the configuration says ${this.vni}`, redo));
    if (vx.port !== this.port)
      d.problems.push(problem('PORT_MISMATCH', `"${link.name}" uses UDP port ${vx.port}, the configuration says ${this.port}`, redo));
    if (vx.group !== this.group) {
      d.problems.push(
        problem(
          'GROUP_MISMATCH',
          `"${link.name}" floods to ${vx.group ?? 'static peers'}, the configuration says ${this.group ?? 'static peers'}`,
          redo,
        ),
      );
    }
    if (vx.dev !== undefined && vx.dev !== this.uplink) {
      d.problems.push(problem('PARENT_MISMATCH', `"${link.name}" runs over "${vx.dev}", the configuration says "${this.uplink}"`, redo));
    }
    if (this.peers.length) {
      d.peers = await this.floodPeers();
      const missing = (await this.remotePeers()).filter((p) => !d.peers?.includes(p));
      if (missing.length) {
        d.problems.push(
          problem(
            'PEER_MISSING',
            `"${link.name}" has no forwarding entry for peer${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
            `run \`cluster-lab start\` again, or \`bridge fdb append 00:00:00:00:00:00 dev ${link.name} dst ${missing[0]}\``,
          ),
        );
      }
    }
    return finish(d);
  }
}

/**
 * The VXLAN link's MAC, derived from the uplink's MAC and the VNI. The kernel would pick a random
 * one on every start, and the DHCP server keys leases by MAC: a stable MAC keeps a node's cluster
 * address (and so its Swarm manager address) across restarts. Locally administered, unicast.
 *
 * @example
 * ```ts
 * vxlanMacFor('dc:a6:32:01:02:03', 200); // always the same 02:…/06:…/0a:… address
 * ```
 */
export function vxlanMacFor(uplinkMac: string, vni: number): string {
  const bytes = createHash('sha256').update(`${uplinkMac.toLowerCase()}/vxlan/${vni}`).digest().subarray(0, 6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfe) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
