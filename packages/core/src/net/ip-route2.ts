import type { CommandRunner } from '../command/command-runner.js';
import { CommandError } from '../command/command-runner.js';
import { ClusterLabError } from '../errors/cluster-lab-error.js';
import { LinkExistsError, LinkNotFoundError, NetnsNotFoundError } from './errors.js';
import type { Address, Link, LinkSpec, Network, Route } from './types.js';
import { assertCidr, assertInterfaceName, assertIpv4, assertMac, assertNetnsName, assertVlanId } from './validate.js';

interface RawLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  operstate?: string;
  address?: string;
  master?: string;
  link?: string | null;
  link_index?: number;
  link_netnsid?: number;
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
    // A veth whose peer lives in another namespace reports only the peer's index there.
    else if (typeof r.link_index === 'number') link.parentIndex = r.link_index;
    if (typeof r.link_netnsid === 'number') link.parentNetnsId = r.link_netnsid;
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
      if (typeof data.link === 'string') {
        link.vxlan.dev = data.link;
        link.parent = data.link;
      }
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
      if (spec.peerNetns !== undefined) assertNetnsName(spec.peerNetns);
      const peerNs = spec.peerNetns !== undefined ? ['netns', spec.peerNetns] : [];
      return ['link', 'add', spec.name, ...mtu, 'type', 'veth', 'peer', 'name', spec.peer, ...peerNs];
    }
    case 'bridge':
      return ['link', 'add', spec.name, ...mtu, 'type', 'bridge'];
    case 'vlan':
      assertInterfaceName(spec.parent, 'VLAN parent interface');
      assertVlanId(spec.id);
      return ['link', 'add', 'link', spec.parent, 'name', spec.name, ...mtu, 'type', 'vlan', 'protocol', '802.1Q', 'id', String(spec.id)];
    case 'vxlan': {
      if (!Number.isInteger(spec.vni) || spec.vni < 1 || spec.vni > 16_777_215) {
        throw invalidArgument('VXLAN id', spec.vni, 'must be a whole number between 1 and 16777215', 'use e.g. 200');
      }
      if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65_535) {
        throw invalidArgument(
          'VXLAN port',
          spec.port,
          'must be a UDP port between 1 and 65535',
          'use 4790 (4789 is Docker Swarm overlay traffic)',
        );
      }
      const address: string[] = [];
      if (spec.mac !== undefined) {
        assertMac(spec.mac);
        address.push('address', spec.mac.toLowerCase());
      }
      const args = ['link', 'add', spec.name, ...mtu, ...address, 'type', 'vxlan', 'id', String(spec.vni), 'dstport', String(spec.port)];
      if (spec.group !== undefined) {
        assertIpv4(spec.group);
        args.push('group', spec.group);
      }
      if (spec.local !== undefined) {
        assertIpv4(spec.local);
        args.push('local', spec.local);
      }
      if (spec.dev !== undefined) {
        assertInterfaceName(spec.dev, 'VXLAN underlay device');
        args.push('dev', spec.dev);
      }
      if (spec.learning === false) args.push('nolearning');
      return args;
    }
  }
}

/** Default timeout of one `ip` invocation: it answers in milliseconds unless the kernel is stuck. */
export const IP_COMMAND_TIMEOUT_MS = 10_000;

function invalidArgument(what: string, value: unknown, problem: string, hint: string): ClusterLabError {
  return new ClusterLabError('INVALID_ARGUMENT', `${what} ${JSON.stringify(value)} ${problem}`, { hint, errorClass: 'usage' });
}

/**
 * The device an `ip` error says is missing. iproute2 words it three ways:
 * `Cannot find device "x"` (link set/del/add), `Device "x" does not exist.` (show) and
 * `Error: argument "x" is wrong: Device does not exist` (the argument of `master`).
 */
function missingDevice(stderr: string): string | undefined {
  const m =
    /Cannot find device "([^"]+)"/.exec(stderr) ??
    /Device "([^"]+)" does not exist/.exec(stderr) ??
    /argument "([^"]+)" is wrong: Device does not exist/.exec(stderr);
  return m?.[1];
}

const FILE_EXISTS = /File exists/;

/**
 * The real {@link Network}: runs iproute2's `ip` with JSON output (`ip -j`) through a
 * {@link CommandRunner} and parses it into types. Namespace-aware via `ip -n <netns>`.
 *
 * Each method documents the `ip` command it equals. `ip` failures the caller can act on become
 * typed errors ({@link LinkNotFoundError}, {@link LinkExistsError}, {@link NetnsNotFoundError},
 * or a {@link ClusterLabError} with a specific code); anything else stays a {@link CommandError}.
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
  ) {
    if (netns !== undefined) assertNetnsName(netns);
  }

  /** A handle acting inside `netns` (`ip -n <netns> …`); undefined = the caller's namespace. */
  in(netns: string | undefined): IpRoute2 {
    return new IpRoute2(this.runner, netns);
  }

  private async ip(args: string[]): Promise<string> {
    const ns = this.netns ? ['-n', this.netns] : [];
    try {
      const { stdout } = await this.runner.run('ip', [...ns, ...args], { timeoutMs: IP_COMMAND_TIMEOUT_MS });
      return stdout;
    } catch (error) {
      if (this.netns && error instanceof CommandError && /Cannot open network namespace/.test(error.stderr)) {
        throw new NetnsNotFoundError(this.netns);
      }
      throw error;
    }
  }

  /** `ip -j -d link show` */
  async listLinks(): Promise<Link[]> {
    return parseLinks(await this.ip(['-j', '-d', 'link', 'show']));
  }

  /** `ip -j -d link show dev <name>`; undefined when there is no such link. */
  async getLink(name: string): Promise<Link | undefined> {
    assertInterfaceName(name);
    try {
      return parseLinks(await this.ip(['-j', '-d', 'link', 'show', 'dev', name]))[0];
    } catch (error) {
      if (error instanceof CommandError && missingDevice(error.stderr) === name) return undefined;
      throw error;
    }
  }

  /** Like {@link getLink}, but throws {@link LinkNotFoundError} listing the links that do exist. */
  async requireLink(name: string): Promise<Link> {
    const link = await this.getLink(name);
    if (link) return link;
    const available = (await this.listLinks()).map((l) => l.name).filter((n) => n !== 'lo');
    throw new LinkNotFoundError(name, this.netns, available);
  }

  /**
   * `ip link add <name> type <kind> …` (see {@link linkAddArgs} for the exact arguments).
   * Throws {@link LinkExistsError} when the name (or a veth's peer name) is taken,
   * {@link LinkNotFoundError} when a VLAN's parent or a VXLAN's device is missing, and
   * `LINK_KIND_UNSUPPORTED` when the kernel lacks the link type (e.g. no 802.1Q module).
   */
  async addLink(spec: LinkSpec): Promise<void> {
    const args = linkAddArgs(spec);
    try {
      await this.ip(args);
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      if (FILE_EXISTS.test(error.stderr)) {
        const taken = spec.kind === 'veth' && !(await this.getLink(spec.name)) ? spec.peer : spec.name;
        throw new LinkExistsError(taken);
      }
      const missing = missingDevice(error.stderr);
      if (missing) throw new LinkNotFoundError(missing, this.netns);
      if (/Unknown device type|Operation not supported/.test(error.stderr)) {
        throw new ClusterLabError(
          'LINK_KIND_UNSUPPORTED',
          `this kernel cannot create ${spec.kind} links ("${spec.name}"): ${error.stderr.trim()}`,
          {
            hint:
              spec.kind === 'vlan'
                ? 'load the 8021q module (`modprobe 8021q`) or use the vxlan or native backend'
                : `load the ${spec.kind} kernel module`,
            errorClass: 'dependency',
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  /** `ip link del dev <name>`; returns false when the link did not exist. */
  async delLink(name: string): Promise<boolean> {
    assertInterfaceName(name);
    try {
      await this.ip(['link', 'del', 'dev', name]);
      return true;
    } catch (error) {
      if (error instanceof CommandError && missingDevice(error.stderr) === name) return false;
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
      throw invalidArgument('MTU', mtu, 'must be a whole number between 68 and 65535', 'use 1500, or 1450 on VXLAN');
    }
    await this.linkSet(name, ['mtu', String(mtu)], (stderr) =>
      /mtu (less|greater) than device (minimum|maximum)/.test(stderr)
        ? invalidArgument('MTU', mtu, `is not accepted by "${name}" (${stderr.trim()})`, 'use a value within the device limits')
        : undefined,
    );
  }

  /** `ip link set dev <name> name <newName>`; {@link LinkExistsError} when `newName` is taken. */
  async rename(name: string, newName: string): Promise<void> {
    assertInterfaceName(newName);
    await this.linkSet(name, ['name', newName], (stderr) => {
      if (FILE_EXISTS.test(stderr)) return new LinkExistsError(newName);
      // Kernels before 6.x refuse to rename a link that is up.
      if (/Device or resource busy/.test(stderr)) {
        return new ClusterLabError('LINK_BUSY', `cannot rename "${name}" while it is up`, { hint: 'set it down first' });
      }
      return undefined;
    });
  }

  /** `ip link set dev <name> master <master>`; {@link LinkNotFoundError} names whichever is missing. */
  async setMaster(name: string, master: string): Promise<void> {
    assertInterfaceName(master);
    await this.linkSet(name, ['master', master], (stderr) =>
      /Operation not supported/.test(stderr)
        ? new ClusterLabError('NOT_A_BRIDGE', `cannot enslave "${name}" to "${master}": "${master}" is not a bridge`, {
            hint: 'use the name of a bridge',
          })
        : undefined,
    );
  }

  /** `ip link set dev <name> netns <netns>`; {@link NetnsNotFoundError} when `netns` is missing. */
  async setNetns(name: string, netns: string): Promise<void> {
    assertNetnsName(netns);
    await this.linkSet(name, ['netns', netns], (stderr) =>
      /Invalid "netns" value/.test(stderr) ? new NetnsNotFoundError(netns) : undefined,
    );
  }

  private async linkSet(name: string, rest: string[], mapError?: (stderr: string) => Error | undefined): Promise<void> {
    assertInterfaceName(name);
    try {
      await this.ip(['link', 'set', 'dev', name, ...rest]);
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      const mapped = mapError?.(error.stderr);
      if (mapped) throw mapped;
      const missing = missingDevice(error.stderr);
      if (missing) throw new LinkNotFoundError(missing, this.netns);
      throw error;
    }
  }

  /** `ip -j address show [dev <dev>]` (IPv4 and IPv6) */
  async listAddresses(dev?: string): Promise<Address[]> {
    if (dev !== undefined) assertInterfaceName(dev);
    try {
      return parseAddresses(await this.ip(['-j', 'address', 'show', ...(dev ? ['dev', dev] : [])]));
    } catch (error) {
      if (dev && error instanceof CommandError && missingDevice(error.stderr) === dev) throw new LinkNotFoundError(dev, this.netns);
      throw error;
    }
  }

  /**
   * `ip address add <cidr> dev <dev>` unless `dev` already holds exactly `cidr`; returns false
   * then (also when another caller added it between the check and the add).
   */
  async addAddress(dev: string, cidr: string): Promise<boolean> {
    assertCidr(cidr);
    const existing = await this.listAddresses(dev);
    if (existing.some((a) => a.cidr === cidr)) return false;
    try {
      await this.ip(['address', 'add', cidr, 'dev', dev]);
      return true;
    } catch (error) {
      if (error instanceof CommandError && /Address already assigned|File exists/.test(error.stderr)) return false;
      if (error instanceof CommandError && missingDevice(error.stderr) === dev) throw new LinkNotFoundError(dev, this.netns);
      throw error;
    }
  }

  /** `ip address del <cidr> dev <dev>`; returns false when the address or the link was not there. */
  async delAddress(dev: string, cidr: string): Promise<boolean> {
    assertInterfaceName(dev);
    assertCidr(cidr);
    try {
      await this.ip(['address', 'del', cidr, 'dev', dev]);
      return true;
    } catch (error) {
      if (error instanceof CommandError && (missingDevice(error.stderr) === dev || /Address not found|Cannot assign/.test(error.stderr))) {
        return false;
      }
      throw error;
    }
  }

  /** `ip -j route show` (the main IPv4 table) */
  async routes(): Promise<Route[]> {
    return parseRoutes(await this.ip(['-j', 'route', 'show']));
  }
}
