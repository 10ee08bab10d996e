import { readFileSync } from 'node:fs';
import { type FakeReply, FakeRunner } from '@cluster-lab/core';

type RawLink = Record<string, unknown> & { ifname: string; flags: string[]; mtu: number; operstate: string; address: string };
type RawAddr = { family: string; local: string; prefixlen: number; scope: string; label?: string };

const FIXTURES = new URL('../backends/fixtures/', import.meta.url);

/** Reads a fixture file of `src/backends/fixtures`. */
export function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

/** The first link object of a JSON fixture. */
export function fixtureLink(name: string): RawLink {
  return (JSON.parse(fixture(name)) as RawLink[])[0] as RawLink;
}

/**
 * A captured `*-stderr.txt` fixture (stderr, then an `exit N` line) as a reply; `names` swaps the
 * interface names the capture used for the ones asked about.
 */
function stderrFixture(name: string, names: Record<string, string> = {}): FakeReply {
  const lines = fixture(name).trimEnd().split('\n');
  const exit = /^exit (\d+)$/.exec(lines.pop() ?? '');
  let stderr = `${lines.join('\n')}\n`;
  for (const [captured, asked] of Object.entries(names)) stderr = stderr.replaceAll(`"${captured}"`, `"${asked}"`);
  return { exitCode: Number(exit?.[1] ?? 1), stderr };
}

/** Options of {@link FakeIpNode}. */
export interface FakeIpNodeOptions {
  /** The kernel has 802.1Q (false = this machine type: `ip link add … type vlan` fails). */
  vlan?: boolean;
  /** The kernel has VXLAN (false: `ip link add … type vxlan` fails the same way). */
  vxlan?: boolean;
}

/**
 * A node for unit tests: a {@link FakeRunner} whose `ip`/`bridge` answers come from a small
 * model of the kernel's link/address/fdb tables, serialised with the real iproute2 JSON captured
 * in the fixtures. Tests then assert the exact commands (`runner.commands()`) and the state.
 * Only the command forms the backends use are understood; anything else throws.
 */
export class FakeIpNode {
  readonly runner = new FakeRunner();
  readonly links = new Map<string, RawLink>();
  readonly addrs = new Map<string, RawAddr[]>();
  readonly fdb = new Map<string, { mac: string; dst: string; flags: string[]; state: string }[]>();
  readonly extraRoutes: Record<string, unknown>[] = [];
  private nextIndex = 10;
  private readonly vxlanSupported: boolean;

  constructor(options: FakeIpNodeOptions = {}) {
    const vlan = options.vlan ?? true;
    this.vxlanSupported = options.vxlan ?? true;
    this.runner.on(
      'ip',
      () => true,
      (call) => this.ip(call.args, vlan),
    );
    this.runner.on(
      'bridge',
      () => true,
      (call) => this.bridge(call.args),
    );
  }

  /** Adds the captured eth0 (a veth, up) with 10.99.0.11/24 and a default route via 10.99.0.1. */
  withUplink(name = 'eth0', mtu = 1500): this {
    const link = { ...fixtureLink('veth-eth0-up.json'), ifname: name, mtu };
    this.links.set(name, link);
    this.addrs.set(name, [{ family: 'inet', local: '10.99.0.11', prefixlen: 24, scope: 'global', label: name }]);
    this.extraRoutes.push({ dst: 'default', gateway: '10.99.0.1', dev: name, flags: [] });
    return this;
  }

  /** Adds an arbitrary link object (e.g. a fixture with edits). */
  withLink(link: RawLink): this {
    this.links.set(link.ifname, structuredClone(link));
    return this;
  }

  /** ip commands seen so far, without the `ip` prefix. */
  commands(): string[] {
    return this.runner.commands();
  }

  /** Commands that change state (add/del/set/append), for idempotence assertions. */
  changes(): string[] {
    return this.commands().filter((c) => /^(ip (link|address) (add|del|set)|bridge fdb (append|del))/.test(c));
  }

  private missing(name: string): FakeReply {
    return { exitCode: 1, stderr: `Device "${name}" does not exist.\n` };
  }

  private ip(argv: readonly string[], vlan: boolean): FakeReply {
    const a = withoutNetns(argv).join(' ');
    let m: RegExpExecArray | null;
    m = /^-j -d link show dev (\S+)$/.exec(a);
    if (m) {
      const link = this.links.get(m[1] as string);
      return link ? { stdout: JSON.stringify([link]) } : this.missing(m[1] as string);
    }
    if (a === '-j -d link show') return { stdout: JSON.stringify([...this.links.values()]) };
    m = /^link add link (\S+) name (\S+)(?: mtu (\d+))? type vlan protocol 802\.1Q id (\d+)$/.exec(a);
    if (m) {
      if (!vlan) return stderrFixture('vlan-add-stderr.txt');
      const [, parent, name, mtu, id] = m as unknown as string[];
      if (this.links.has(name as string)) return stderrFixture('vlan-add-exists-stderr.txt');
      const up = this.links.get(parent as string);
      if (!up) return stderrFixture('vlan-add-missing-parent-stderr.txt', { eth9: parent as string });
      const link = fixtureLink('vlan-eth0.200-down.json');
      const data = (link.linkinfo as { info_data: Record<string, unknown> }).info_data;
      data.id = Number(id);
      Object.assign(link, { ifname: name, link: parent, address: up.address, mtu: mtu ? Number(mtu) : up.mtu, ifindex: this.nextIndex++ });
      this.links.set(name as string, link);
      return {};
    }
    m = /^link add (\S+) mtu (\d+)(?: address (\S+))? type vxlan id (\d+) dstport (\d+)(?: group (\S+))? dev (\S+)$/.exec(a);
    if (m) {
      if (!this.vxlanSupported) return { exitCode: 2, stderr: 'Error: Unknown device type.\n' };
      const [, name, mtu, mac, vni, port, group, dev] = m as unknown as (string | undefined)[];
      if (this.links.has(name as string)) return { exitCode: 2, stderr: 'RTNETLINK answers: File exists\n' };
      if (!this.links.has(dev as string)) return this.missing(dev as string);
      const link = fixtureLink(group ? 'vxlan-group-down.json' : 'vxlan-peers-down.json');
      const data = (link.linkinfo as { info_data: Record<string, unknown> }).info_data;
      Object.assign(data, { id: Number(vni), port: Number(port), link: dev });
      if (group) data.group = group;
      Object.assign(link, { ifname: name, mtu: Number(mtu), ifindex: this.nextIndex++, ...(mac ? { address: mac } : {}) });
      this.links.set(name as string, link);
      return {};
    }
    m = /^link set dev (\S+) (up|down)$/.exec(a);
    if (m) {
      const link = this.links.get(m[1] as string);
      if (!link) return { exitCode: 1, stderr: `Cannot find device "${m[1]}"\n` };
      if (m[2] === 'up') {
        link.flags = [...link.flags.filter((f) => f !== 'UP' && f !== 'LOWER_UP'), 'UP', 'LOWER_UP'];
        link.operstate = (link.linkinfo as { info_kind?: string } | undefined)?.info_kind === 'vxlan' ? 'UNKNOWN' : 'UP';
      } else {
        link.flags = link.flags.filter((f) => f !== 'UP' && f !== 'LOWER_UP');
        link.operstate = 'DOWN';
      }
      return {};
    }
    m = /^link del dev (\S+)$/.exec(a);
    if (m) {
      if (!this.links.delete(m[1] as string)) return { exitCode: 1, stderr: `Cannot find device "${m[1]}"\n` };
      this.addrs.delete(m[1] as string);
      this.fdb.delete(m[1] as string);
      return {};
    }
    m = /^-j address show(?: dev (\S+))?$/.exec(a);
    if (m) {
      const names = m[1] ? [m[1]] : [...this.links.keys()];
      if (m[1] && !this.links.has(m[1])) return this.missing(m[1]);
      return { stdout: JSON.stringify(names.map((n) => ({ ifname: n, addr_info: this.addrs.get(n) ?? [] }))) };
    }
    m = /^address (add|del) (\S+)\/(\d+) dev (\S+)$/.exec(a);
    if (m) {
      const [, op, local, prefix, dev] = m as unknown as string[];
      if (!this.links.has(dev as string)) return { exitCode: 1, stderr: `Cannot find device "${dev}"\n` };
      const list = this.addrs.get(dev as string) ?? [];
      const i = list.findIndex((x) => x.local === local && x.prefixlen === Number(prefix));
      if (op === 'add') {
        if (i >= 0) return { exitCode: 2, stderr: 'RTNETLINK answers: File exists\n' };
        list.push({ family: 'inet', local: local as string, prefixlen: Number(prefix), scope: 'global', label: dev as string });
      } else {
        if (i < 0) return { exitCode: 2, stderr: 'RTNETLINK answers: Cannot assign requested address\n' };
        list.splice(i, 1);
      }
      this.addrs.set(dev as string, list);
      return {};
    }
    if (a === '-j route show') return { stdout: JSON.stringify(this.routes()) };
    throw new Error(`FakeIpNode: unsupported \`ip ${a}\``);
  }

  /** The routing table as the kernel would show it: extra routes plus connected routes of up links. */
  routes(): Record<string, unknown>[] {
    const connected = [...this.addrs.entries()].flatMap(([dev, list]) =>
      this.links.get(dev)?.flags.includes('UP')
        ? list.map((x) => {
            const mask = x.prefixlen === 0 ? 0 : (0xffffffff << (32 - x.prefixlen)) >>> 0;
            const n = x.local.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
            const net = (n & mask) >>> 0;
            const dst = [24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.');
            return { dst: `${dst}/${x.prefixlen}`, dev, protocol: 'kernel', scope: 'link', prefsrc: x.local, flags: [] };
          })
        : [],
    );
    return [...this.extraRoutes, ...connected];
  }

  private bridge(argv: readonly string[]): FakeReply {
    const a = withoutNetns(argv).join(' ');
    let m: RegExpExecArray | null;
    m = /^-j fdb show dev (\S+)$/.exec(a);
    if (m) {
      if (!this.links.has(m[1] as string)) return { exitCode: 255, stderr: `Cannot find device "${m[1]}"\n` };
      return { stdout: `${JSON.stringify(this.fdb.get(m[1] as string) ?? [])}\n` };
    }
    m = /^fdb append 00:00:00:00:00:00 dev (\S+) dst (\S+)$/.exec(a);
    if (m) {
      if (!this.links.has(m[1] as string)) return { exitCode: 255, stderr: `Cannot find device "${m[1]}"\n` };
      const list = this.fdb.get(m[1] as string) ?? [];
      if (!list.some((e) => e.dst === m?.[2]))
        list.push({ mac: '00:00:00:00:00:00', dst: m[2] as string, flags: ['self'], state: 'permanent' });
      this.fdb.set(m[1] as string, list);
      return {};
    }
    throw new Error(`FakeIpNode: unsupported \`bridge ${a}\``);
  }
}

/** The node models one namespace: `-n <netns>` (from a namespaced IpRoute2) is accepted and dropped. */
function withoutNetns(argv: readonly string[]): readonly string[] {
  return argv[0] === '-n' ? argv.slice(2) : argv;
}
