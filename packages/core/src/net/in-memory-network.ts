import { LinkExistsError, LinkNotFoundError } from './errors.js';
import { linkAddArgs } from './ip-route2.js';
import { parseCidr } from './ipv4.js';
import type { Address, Link, LinkSpec, Network, Route } from './types.js';
import { assertCidr, assertInterfaceName } from './validate.js';

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
 * An in-memory {@link Network} for unit tests, following the kernel's rules where tests rely on
 * them: duplicate names fail, addresses need an existing link, a veth has a peer that dies with
 * it, deleting a parent deletes its VLANs, namespaces must exist before links move into them.
 * All handles from {@link in} share one world.
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

  constructor(world?: World, netns?: string) {
    this.world = world ?? { namespaces: new Map([[HOST, emptyNs()]]), nextIndex: 2, nextMac: 1 };
    this.netns = netns;
  }

  in(netns: string | undefined): InMemoryNetwork {
    if (netns !== undefined && !this.world.namespaces.has(netns)) this.world.namespaces.set(netns, emptyNs());
    return new InMemoryNetwork(this.world, netns);
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
        const peerNs = this.ns(spec.peerNetns ?? this.netns ?? HOST);
        if (peerNs.links.has(spec.peer) || spec.peer === spec.name) throw new LinkExistsError(spec.peer);
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
        if (spec.dev) this.must(spec.dev);
        const vxlan: NonNullable<Link['vxlan']> = { vni: spec.vni, port: spec.port, learning: spec.learning ?? true };
        if (spec.group) vxlan.group = spec.group;
        if (spec.local) vxlan.local = spec.local;
        if (spec.dev) vxlan.dev = spec.dev;
        links.set(spec.name, this.newLink(spec.name, { kind: 'vxlan', mtu, vxlan }));
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
    for (const child of [...ns.links.values()]) {
      if (child.kind === 'vlan' && child.parent === name) await this.delLink(child.name);
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
    this.must(name).mtu = mtu;
  }

  async rename(name: string, newName: string): Promise<void> {
    assertInterfaceName(newName);
    const ns = this.ns();
    const link = this.must(name);
    if (link.up) throw new Error(`cannot rename "${name}" while it is up (Device or resource busy)`);
    if (ns.links.has(newName)) throw new LinkExistsError(newName);
    ns.links.delete(name);
    link.name = newName;
    ns.links.set(newName, link);
    for (const a of ns.addresses) if (a.dev === name) a.dev = newName;
  }

  async setMaster(name: string, master: string): Promise<void> {
    const bridge = this.must(master);
    if (bridge.kind !== 'bridge') throw new Error(`"${master}" is not a bridge`);
    this.must(name).master = master;
  }

  async setNetns(name: string, netns: string): Promise<void> {
    if (!this.world.namespaces.has(netns)) throw new Error(`network namespace "${netns}" does not exist`);
    const link = this.must(name);
    const from = this.ns();
    const to = this.ns(netns);
    if (to.links.has(name)) throw new LinkExistsError(name);
    from.links.delete(name);
    from.addresses = from.addresses.filter((a) => a.dev !== name);
    link.up = false;
    delete link.master;
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
