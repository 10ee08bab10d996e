import type { CommandRunner } from '../command/command-runner.js';
import { CommandError } from '../command/command-runner.js';
import { LinkExistsError, LinkNotFoundError } from './errors.js';
import type { Address, Link, LinkSpec, Network, Route } from './types.js';
import { assertCidr, assertInterfaceName, assertIpv4, assertVlanId } from './validate.js';

interface RawLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  operstate?: string;
  address?: string;
  master?: string;
  link?: string | null;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

interface RawAddrLink {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string; dynamic?: boolean }[];
}

/** Parses `ip -j -d link show` output into {@link Link}s. */
export function parseLinks(json: string): Link[] {
  const raw = JSON.parse(json || '[]') as RawLink[];
  return raw.map((r) => {
    const flags = r.flags ?? [];
    const link: Link = {
      index: r.ifindex,
      name: r.ifname,
      up: flags.includes('UP'),
      operState: r.operstate ?? 'UNKNOWN',
      flags,
      mtu: r.mtu,
      mac: (r.address ?? '').toLowerCase(),
    };
    if (r.master) link.master = r.master;
    if (r.link) link.parent = r.link;
    const kind = r.linkinfo?.info_kind;
    const data = r.linkinfo?.info_data ?? {};
    if (kind) link.kind = kind;
    if (kind === 'vlan') {
      link.vlan = { id: Number(data.id), protocol: String(data.protocol ?? '802.1Q') };
    }
    if (kind === 'vxlan') {
      link.vxlan = { vni: Number(data.id), port: Number(data.port) };
      if (typeof data.group === 'string') link.vxlan.group = data.group;
      if (typeof data.local === 'string') link.vxlan.local = data.local;
      if (typeof data.link === 'string') link.vxlan.dev = data.link;
      if (typeof data.learning === 'boolean') link.vxlan.learning = data.learning;
    }
    return link;
  });
}

/** Parses `ip -j addr show` output into {@link Address}es. */
export function parseAddresses(json: string): Address[] {
  const raw = JSON.parse(json || '[]') as RawAddrLink[];
  return raw.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.family === 'inet' || a.family === 'inet6')
      .map((a) => ({
        dev: l.ifname,
        family: a.family as Address['family'],
        local: a.local,
        prefixlen: a.prefixlen,
        cidr: `${a.local}/${a.prefixlen}`,
        scope: a.scope ?? 'global',
        dynamic: Boolean(a.dynamic),
      })),
  );
}

/** Parses `ip -j route show` output into {@link Route}s. */
export function parseRoutes(json: string): Route[] {
  const raw = JSON.parse(json || '[]') as Record<string, unknown>[];
  return raw.map((r) => {
    const route: Route = { dst: String(r.dst) };
    for (const key of ['gateway', 'dev', 'protocol', 'scope', 'prefsrc'] as const) {
      if (typeof r[key] === 'string') route[key] = r[key] as string;
    }
    return route;
  });
}

/** Builds the `ip link add …` arguments for a spec (validated first). */
export function linkAddArgs(spec: LinkSpec): string[] {
  assertInterfaceName(spec.name);
  const mtu = spec.mtu === undefined ? [] : ['mtu', String(spec.mtu)];
  switch (spec.kind) {
    case 'veth': {
      assertInterfaceName(spec.peer, 'veth peer name');
      const peerNs = spec.peerNetns ? ['netns', spec.peerNetns] : [];
      return ['link', 'add', spec.name, ...mtu, 'type', 'veth', 'peer', 'name', spec.peer, ...peerNs];
    }
    case 'bridge':
      return ['link', 'add', spec.name, ...mtu, 'type', 'bridge'];
    case 'vlan':
      assertInterfaceName(spec.parent, 'VLAN parent interface');
      assertVlanId(spec.id);
      return ['link', 'add', 'link', spec.parent, 'name', spec.name, ...mtu, 'type', 'vlan', 'protocol', '802.1Q', 'id', String(spec.id)];
    case 'vxlan': {
      const args = ['link', 'add', spec.name, ...mtu, 'type', 'vxlan', 'id', String(spec.vni), 'dstport', String(spec.port)];
      if (spec.group) {
        assertIpv4(spec.group);
        args.push('group', spec.group);
      }
      if (spec.local) {
        assertIpv4(spec.local);
        args.push('local', spec.local);
      }
      if (spec.dev) {
        assertInterfaceName(spec.dev, 'VXLAN underlay device');
        args.push('dev', spec.dev);
      }
      if (spec.learning === false) args.push('nolearning');
      return args;
    }
  }
}

const NOT_FOUND = /Cannot find device|does not exist|No such device/;

/**
 * The real {@link Network}: runs iproute2's `ip` with JSON output (`ip -j`) through a
 * {@link CommandRunner} and parses it into types. Namespace-aware via `ip -n <netns>`.
 *
 * Each method documents the `ip` command it equals.
 *
 * @example
 * ```ts
 * const ip = new IpRoute2(new ExecaRunner());
 * await ip.in('node1').addAddress('eth0', '192.168.200.1/24'); // ip -n node1 address add 192.168.200.1/24 dev eth0
 * ```
 */
export class IpRoute2 implements Network {
  constructor(
    private readonly runner: CommandRunner,
    readonly netns: string | undefined = undefined,
  ) {}

  in(netns: string | undefined): IpRoute2 {
    return new IpRoute2(this.runner, netns);
  }

  private async ip(args: string[]): Promise<string> {
    const ns = this.netns ? ['-n', this.netns] : [];
    const { stdout } = await this.runner.run('ip', [...ns, ...args], { timeoutMs: 10_000 });
    return stdout;
  }

  /** `ip -j -d link show` */
  async listLinks(): Promise<Link[]> {
    return parseLinks(await this.ip(['-j', '-d', 'link', 'show']));
  }

  /** `ip -j -d link show dev <name>` */
  async getLink(name: string): Promise<Link | undefined> {
    assertInterfaceName(name);
    try {
      return parseLinks(await this.ip(['-j', '-d', 'link', 'show', 'dev', name]))[0];
    } catch (error) {
      if (error instanceof CommandError && NOT_FOUND.test(error.stderr)) return undefined;
      throw error;
    }
  }

  async requireLink(name: string): Promise<Link> {
    const link = await this.getLink(name);
    if (link) return link;
    const available = (await this.listLinks()).map((l) => l.name).filter((n) => n !== 'lo');
    throw new LinkNotFoundError(name, this.netns, available);
  }

  /** `ip link add <name> type <kind> …` */
  async addLink(spec: LinkSpec): Promise<void> {
    const args = linkAddArgs(spec);
    try {
      await this.ip(args);
    } catch (error) {
      if (error instanceof CommandError && /File exists/.test(error.stderr)) throw new LinkExistsError(spec.name);
      throw error;
    }
  }

  /** `ip link del dev <name>` (absent is fine) */
  async delLink(name: string): Promise<boolean> {
    assertInterfaceName(name);
    try {
      await this.ip(['link', 'del', 'dev', name]);
      return true;
    } catch (error) {
      if (error instanceof CommandError && NOT_FOUND.test(error.stderr)) return false;
      throw error;
    }
  }

  /** `ip link set dev <name> up` */
  async setUp(name: string): Promise<void> {
    await this.linkSet(name, ['up']);
  }

  /** `ip link set dev <name> down` */
  async setDown(name: string): Promise<void> {
    await this.linkSet(name, ['down']);
  }

  /** `ip link set dev <name> mtu <mtu>` */
  async setMtu(name: string, mtu: number): Promise<void> {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      throw new RangeError(`MTU ${mtu} must be a whole number between 68 and 65535`);
    }
    await this.linkSet(name, ['mtu', String(mtu)]);
  }

  /** `ip link set dev <name> name <newName>` */
  async rename(name: string, newName: string): Promise<void> {
    assertInterfaceName(newName);
    await this.linkSet(name, ['name', newName]);
  }

  /** `ip link set dev <name> master <master>` */
  async setMaster(name: string, master: string): Promise<void> {
    assertInterfaceName(master);
    await this.linkSet(name, ['master', master]);
  }

  /** `ip link set dev <name> netns <netns>` */
  async setNetns(name: string, netns: string): Promise<void> {
    await this.linkSet(name, ['netns', netns]);
  }

  private async linkSet(name: string, rest: string[]): Promise<void> {
    assertInterfaceName(name);
    try {
      await this.ip(['link', 'set', 'dev', name, ...rest]);
    } catch (error) {
      if (error instanceof CommandError && NOT_FOUND.test(error.stderr)) {
        throw new LinkNotFoundError(name, this.netns);
      }
      throw error;
    }
  }

  /** `ip -j address show [dev <dev>]` */
  async listAddresses(dev?: string): Promise<Address[]> {
    if (dev !== undefined) assertInterfaceName(dev);
    try {
      return parseAddresses(await this.ip(['-j', 'address', 'show', ...(dev ? ['dev', dev] : [])]));
    } catch (error) {
      if (dev && error instanceof CommandError && NOT_FOUND.test(error.stderr)) throw new LinkNotFoundError(dev, this.netns);
      throw error;
    }
  }

  /** `ip address add <cidr> dev <dev>` unless already present */
  async addAddress(dev: string, cidr: string): Promise<boolean> {
    assertCidr(cidr);
    const existing = await this.listAddresses(dev);
    if (existing.some((a) => a.cidr === cidr)) return false;
    await this.ip(['address', 'add', cidr, 'dev', dev]);
    return true;
  }

  /** `ip address del <cidr> dev <dev>` (absent is fine) */
  async delAddress(dev: string, cidr: string): Promise<boolean> {
    assertInterfaceName(dev);
    assertCidr(cidr);
    try {
      await this.ip(['address', 'del', cidr, 'dev', dev]);
      return true;
    } catch (error) {
      if (error instanceof CommandError && (NOT_FOUND.test(error.stderr) || /Address not found|Cannot assign/.test(error.stderr))) {
        return false;
      }
      throw error;
    }
  }

  /** `ip -j route show` */
  async routes(): Promise<Route[]> {
    return parseRoutes(await this.ip(['-j', 'route', 'show']));
  }
}
