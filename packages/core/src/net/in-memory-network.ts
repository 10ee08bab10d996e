import { ClusterLabError } from '../errors/cluster-lab-error.js';
import { LinkExistsError, LinkNotFoundError, NetnsNotFoundError } from './errors.js';
import { linkAddArgs } from './ip-route2.js';
import { parseCidr } from './ipv4.js';
import type { Address, Link, LinkSpec, Network, Route } from './types.js';
import { assertCidr, assertInterfaceName, assertNetnsName } from './validate.js';

interface NsState {
  links: Map<string, Link>;
  addresses: Address[];
  extraRoutes: Route[];
}

interface World {
  namespaces: Map<string, NsState>;
  nextIndex: number;
  nextMac: number;
}

const HOST = '';

/**
 * Passes the shared world from {@link InMemoryNetwork.in} to the constructor, which is taken
 * synchronously right after; this keeps the world type out of the public constructor.
 */
let worldHandoff: { world: World; netns: string | undefined } | undefined;

/**
 * An in-memory {@link Network} for unit tests, following the kernel's rules where tests rely on
 * them: duplicate names fail, addresses need an existing link, a veth has a peer that dies with
 * it, deleting a parent deletes its VLANs and VXLANs, deleting a bridge releases its ports,
 * namespaces must exist before links move into them (a veth peer included). All handles from
 * {@link InMemoryNetwork.in} share one world; `in(name)` creates the namespace on first use
 * (as `ip netns add` would have), {@link InMemoryNetwork.withNetns} does so explicitly.
 *
 * Stricter than recent kernels in one place: renaming a link that is up fails (kernels before
 * 6.x refuse it), so code tested here sets links down before renaming them.
 *
 * @example
 * ```ts
 * const net = new InMemoryNetwork().withLink('eth0', { mac: '02:00:00:00:00:01' });
 * await net.addAddress('eth0', '192.168.200.1/24');
 * ```
 */
export class InMemoryNetwork implements Network {
  private readonly world: World;
  readonly netns: string | undefined;

  /** A new, empty world: the host namespace with no links. */
  constructor() {
    const handoff = worldHandoff;
    worldHandoff = undefined;
    this.world = handoff?.world ?? { namespaces: new Map([[HOST, emptyNs()]]), nextIndex: 2, nextMac: 1 };
    this.netns = handoff?.netns;
  }

  /** A handle on the same world acting inside `netns` (created on first use); undefined = the host. */
  in(netns: string | undefined): InMemoryNetwork {
    if (netns !== undefined) assertNetnsName(netns);
    if (netns !== undefined && !this.world.namespaces.has(netns)) this.world.namespaces.set(netns, emptyNs());
    worldHandoff = { world: this.world, netns };
    return new InMemoryNetwork();
  }

  /** Adds a physical-looking link (no `kind`), up by default. For test setup. */
  withLink(name: string, props: Partial<Omit<Link, 'name'>> = {}): this {
    const link = this.newLink(name, props);
    link.up = props.up ?? true;
    link.operState = link.up ? 'UP' : 'DOWN';
    link.flags = link.up ? ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'] : ['BROADCAST', 'MULTICAST'];
    this.ns().links.set(name, link);
    return this;
  }

  /** Creates an empty network namespace (like `ip netns add`). For test setup. */
  withNetns(name: string): this {
    assertNetnsName(name);
    if (!this.world.namespaces.has(name)) this.world.namespaces.set(name, emptyNs());
    return this;
  }

  /** Network namespaces that exist, besides the host's. */
  namespaces(): string[] {
    return [...this.world.namespaces.keys()].filter((n) => n !== HOST);
  }

  /** Adds a route (e.g. a default route on the uplink) for test setup. */
  withRoute(route: Route): this {
    this.ns().extraRoutes.push(route);
    return this;
  }

  private ns(name = this.netns ?? HOST): NsState {
    let ns = this.world.namespaces.get(name);
    if (!ns) {
      ns = emptyNs();
      this.world.namespaces.set(name, ns);
    }
    return ns;
  }

  private newLink(name: string, props: Partial<Link> = {}): Link {
    const index = this.world.nextIndex++;
    const mac = props.mac ?? `02:00:00:00:${hex(Math.floor(this.world.nextMac / 256))}:${hex(this.world.nextMac++ % 256)}`;
    return {
      index,
      name,
      up: false,
      operState: 'DOWN',
      flags: ['BROADCAST', 'MULTICAST'],
      mtu: 1500,
      ...props,
      mac,
    };
  }

  private must(name: string): Link {
    assertInterfaceName(name);
    const link = this.ns().links.get(name);
    if (!link) throw new LinkNotFoundError(name, this.netns, [...this.ns().links.keys()]);
    return link;
  }

  async listLinks(): Promise<Link[]> {
    return [...this.ns().links.values()].map((l) => structuredClone(l));
  }

  async getLink(name: string): Promise<Link | undefined> {
    assertInterfaceName(name);
    const link = this.ns().links.get(name);
    return link ? structuredClone(link) : undefined;
  }

  async requireLink(name: string): Promise<Link> {
    return structuredClone(this.must(name));
  }

  async addLink(spec: LinkSpec): Promise<void> {
    linkAddArgs(spec); // same validation as the real wrapper
    const links = this.ns().links;
    if (links.has(spec.name)) throw new LinkExistsError(spec.name);
    const mtu = spec.mtu ?? (spec.kind === 'vxlan' ? 1450 : 1500);
    switch (spec.kind) {
      case 'veth': {
        if (spec.peerNetns !== undefined && !this.world.namespaces.has(spec.peerNetns)) throw new NetnsNotFoundError(spec.peerNetns);
        const peerNs = this.ns(spec.peerNetns ?? this.netns ?? HOST);
        if (peerNs.links.has(spec.peer) || (spec.peer === spec.name && peerNs === this.ns())) throw new LinkExistsError(spec.peer);
        links.set(spec.name, this.newLink(spec.name, { kind: 'veth', parent: spec.peer, mtu }));
        peerNs.links.set(spec.peer, this.newLink(spec.peer, { kind: 'veth', parent: spec.name, mtu }));
        return;
      }
      case 'bridge':
        links.set(spec.name, this.newLink(spec.name, { kind: 'bridge', mtu }));
        return;
      case 'vlan':
        this.must(spec.parent);
        links.set(
          spec.name,
          this.newLink(spec.name, { kind: 'vlan', parent: spec.parent, mtu, vlan: { id: spec.id, protocol: '802.1Q' } }),
        );
        return;
      case 'vxlan': {
        if (spec.dev !== undefined) this.must(spec.dev);
        const vxlan: NonNullable<Link['vxlan']> = { vni: spec.vni, port: spec.port, learning: spec.learning ?? true };
        if (spec.group !== undefined) vxlan.group = spec.group;
        if (spec.local !== undefined) vxlan.local = spec.local;
        if (spec.dev !== undefined) vxlan.dev = spec.dev;
        links.set(
          spec.name,
          this.newLink(spec.name, {
            kind: 'vxlan',
            mtu,
            vxlan,
            ...(spec.dev !== undefined ? { parent: spec.dev } : {}),
            ...(spec.mac !== undefined ? { mac: spec.mac.toLowerCase() } : {}),
          }),
        );
        return;
      }
    }
  }

  async delLink(name: string): Promise<boolean> {
    assertInterfaceName(name);
    const ns = this.ns();
    const link = ns.links.get(name);
    if (!link) return false;
    ns.links.delete(name);
    ns.addresses = ns.addresses.filter((a) => a.dev !== name);
    if (link.kind === 'veth' && link.parent) {
      for (const other of this.world.namespaces.values()) {
        const peer = other.links.get(link.parent);
        if (peer?.kind === 'veth' && peer.parent === name) {
          other.links.delete(link.parent);
          other.addresses = other.addresses.filter((a) => a.dev !== link.parent);
        }
      }
    }
    for (const other of [...ns.links.values()]) {
      // The kernel unregisters VLANs and VXLANs stacked on a deleted device, and releases bridge ports.
      if ((other.kind === 'vlan' || other.kind === 'vxlan') && other.parent === name) await this.delLink(other.name);
      if (other.master === name) delete other.master;
    }
    return true;
  }

  async setUp(name: string): Promise<void> {
    const link = this.must(name);
    link.up = true;
    link.operState = 'UP';
    if (!link.flags.includes('UP')) link.flags.push('UP');
  }

  async setDown(name: string): Promise<void> {
    const link = this.must(name);
    link.up = false;
    link.operState = 'DOWN';
    link.flags = link.flags.filter((f) => f !== 'UP' && f !== 'LOWER_UP');
  }

  async setMtu(name: string, mtu: number): Promise<void> {
    const link = this.must(name);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      throw new ClusterLabError('INVALID_ARGUMENT', `MTU ${mtu} must be a whole number between 68 and 65535`, {
        hint: 'use 1500, or 1450 on VXLAN',
        errorClass: 'usage',
      });
    }
    link.mtu = mtu;
  }

  async rename(name: string, newName: string): Promise<void> {
    assertInterfaceName(newName);
    const ns = this.ns();
    const link = this.must(name);
    if (name === newName) return;
    if (ns.links.has(newName)) throw new LinkExistsError(newName);
    if (link.up) throw new ClusterLabError('LINK_BUSY', `cannot rename "${name}" while it is up`, { hint: 'set it down first' });
    ns.links.delete(name);
    link.name = newName;
    ns.links.set(newName, link);
    for (const a of ns.addresses) if (a.dev === name) a.dev = newName;
    // `ip` reports related links by name, so every reference follows the rename.
    for (const other of ns.links.values()) {
      if (other.master === name) other.master = newName;
      if (other.kind !== 'veth' && other.parent === name) other.parent = newName;
      if (other.vxlan?.dev === name) other.vxlan.dev = newName;
    }
    if (link.kind === 'veth' && link.parent) {
      for (const other of this.world.namespaces.values()) {
        const peer = other.links.get(link.parent);
        if (peer?.kind === 'veth' && peer.parent === name) peer.parent = newName;
      }
    }
  }

  async setMaster(name: string, master: string): Promise<void> {
    const link = this.must(name);
    const bridge = this.must(master);
    if (bridge.kind !== 'bridge' || name === master) {
      throw new ClusterLabError('NOT_A_BRIDGE', `cannot enslave "${name}" to "${master}": "${master}" is not a bridge`, {
        hint: 'use the name of a bridge',
      });
    }
    link.master = master;
  }

  async setNetns(name: string, netns: string): Promise<void> {
    assertNetnsName(netns);
    const link = this.must(name);
    if (!this.world.namespaces.has(netns)) throw new NetnsNotFoundError(netns);
    const from = this.ns();
    const to = this.ns(netns);
    if (to.links.has(name)) throw new LinkExistsError(name);
    from.links.delete(name);
    from.addresses = from.addresses.filter((a) => a.dev !== name);
    // The kernel sets a moved link down and releases it from its bridge.
    link.up = false;
    link.operState = 'DOWN';
    link.flags = link.flags.filter((f) => f !== 'UP' && f !== 'LOWER_UP');
    delete link.master;
    for (const other of from.links.values()) if (other.master === name) delete other.master;
    to.links.set(name, link);
  }

  async listAddresses(dev?: string): Promise<Address[]> {
    if (dev !== undefined) this.must(dev);
    return this.ns()
      .addresses.filter((a) => dev === undefined || a.dev === dev)
      .map((a) => ({ ...a }));
  }

  async addAddress(dev: string, cidr: string): Promise<boolean> {
    assertCidr(cidr);
    this.must(dev);
    const ns = this.ns();
    if (ns.addresses.some((a) => a.dev === dev && a.cidr === cidr)) return false;
    const [local, prefix] = cidr.split('/') as [string, string];
    ns.addresses.push({ dev, family: 'inet', local, prefixlen: Number(prefix), cidr, scope: 'global', dynamic: false });
    return true;
  }

  async delAddress(dev: string, cidr: string): Promise<boolean> {
    assertInterfaceName(dev);
    assertCidr(cidr);
    const ns = this.ns();
    const before = ns.addresses.length;
    ns.addresses = ns.addresses.filter((a) => !(a.dev === dev && a.cidr === cidr));
    return ns.addresses.length !== before;
  }

  async routes(): Promise<Route[]> {
    const ns = this.ns();
    const connected = ns.addresses
      .filter((a) => a.family === 'inet' && ns.links.get(a.dev)?.up)
      .map((a) => {
        const c = parseCidr(a.cidr);
        return { dst: `${c?.network}/${a.prefixlen}`, dev: a.dev, protocol: 'kernel', scope: 'link', prefsrc: a.local };
      });
    return [...ns.extraRoutes.map((r) => ({ ...r })), ...connected];
  }
}

function emptyNs(): NsState {
  return { links: new Map(), addresses: [], extraRoutes: [] };
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
