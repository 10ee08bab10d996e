import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CommandError } from '../command/command-runner.js';
import { FakeRunner } from '../command/fake-runner.js';
import { ClusterLabError } from '../errors/cluster-lab-error.js';
import { LinkExistsError, LinkNotFoundError, NetnsNotFoundError } from './errors.js';
import { IpRoute2, linkAddArgs, parseAddresses, parseLinks, parseRoutes } from './ip-route2.js';

// Captured from `ip` (iproute2 6.1) in a namespace holding a bridge with a veth port, a veth
// whose peer sits in another namespace (eth0), a multicast VXLAN on eth0 and a unicast VXLAN.
// The VLAN fixture comes from Debian's 6.1 kernel in the test VM (this kernel has no 802.1Q):
// `node scripts/capture-vlan-fixtures.mjs`.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const LINKS = fixture('ip-j-d-link-show.json');
const LINK_VX200 = fixture('ip-j-d-link-show-dev-vx200.json');
const LINK_VLAN = fixture('ip-j-d-link-show-dev-eth0.200.json');
const ADDRS = fixture('ip-j-address-show.json');
const ADDRS_ETH0 = fixture('ip-j-address-show-dev-eth0.json');
const ROUTES = fixture('ip-j-route-show.json');

const fail = (stderr: string, exitCode = 1) => ({ exitCode, stderr: `${stderr}\n` });

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('parsers over real `ip -j` output', () => {
  it('parses links of every kind', () => {
    const links = parseLinks(LINKS);
    expect(links.map((l) => [l.name, l.kind])).toEqual([
      ['lo', undefined],
      ['br0', 'bridge'],
      ['veth1', 'veth'],
      ['veth0', 'veth'],
      ['eth0', 'veth'],
      ['vx200', 'vxlan'],
      ['vx201', 'vxlan'],
    ]);
    expect(links[1]).toEqual({
      index: 2,
      name: 'br0',
      up: true,
      operState: 'UP',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1500,
      mac: '42:15:4b:de:dc:7b',
      kind: 'bridge',
    });
    expect(links[2]).toMatchObject({ name: 'veth1', parent: 'veth0', master: 'br0' });
    expect(links[3]).toMatchObject({ name: 'veth0', parent: 'veth1' });
    expect(links[3]?.master).toBeUndefined();
    // The peer of eth0 lives in another namespace: only its index and netns id are known.
    expect(links[4]).toMatchObject({ name: 'eth0', parentIndex: 2, parentNetnsId: 0 });
    expect(links[4]?.parent).toBeUndefined();
    expect(links[5]).toMatchObject({
      name: 'vx200',
      up: true,
      operState: 'UNKNOWN',
      mtu: 1450,
      parent: 'eth0',
      vxlan: { vni: 200, port: 4790, group: '239.1.1.200', dev: 'eth0', learning: true },
    });
    expect(links[6]).toMatchObject({
      name: 'vx201',
      up: false,
      operState: 'DOWN',
      vxlan: { vni: 201, port: 4791, local: '192.168.1.10', learning: false },
    });
    expect(links[6]?.vxlan?.group).toBeUndefined();
    expect(links[0]).toMatchObject({ name: 'lo', up: true, mtu: 65536, mac: '00:00:00:00:00:00' });
  });

  it('parses a VLAN link', () => {
    expect(parseLinks(LINK_VLAN)).toEqual([
      {
        index: 3,
        name: 'eth0.200',
        up: true,
        operState: 'UP',
        flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
        mtu: 1500,
        mac: '52:54:00:12:34:56',
        parent: 'eth0',
        kind: 'vlan',
        vlan: { id: 200, protocol: '802.1Q' },
      },
    ]);
  });

  it('lower-cases a MAC printed in capitals', () => {
    const [link] = parseLinks(LINK_VLAN.replace('"52:54:00:12:34:56"', '"52:54:00:AB:CD:EF"'));
    expect(link?.mac).toBe('52:54:00:ab:cd:ef');
  });

  it('parses IPv4 and IPv6 addresses', () => {
    const addrs = parseAddresses(ADDRS);
    expect(addrs.filter((a) => a.family === 'inet').map((a) => `${a.dev} ${a.cidr} ${a.scope}`)).toEqual([
      'lo 127.0.0.1/8 host',
      'br0 10.9.0.1/16 global',
      'eth0 192.168.1.10/24 global',
      'vx200 192.168.200.1/24 global',
    ]);
    expect(addrs.find((a) => a.dev === 'vx200' && a.family === 'inet')).toEqual({
      dev: 'vx200',
      family: 'inet',
      local: '192.168.200.1',
      prefixlen: 24,
      cidr: '192.168.200.1/24',
      scope: 'global',
      dynamic: false,
    });
    expect(addrs.filter((a) => a.family === 'inet6')).toHaveLength(6);
  });

  it('parses routes', () => {
    expect(parseRoutes(ROUTES)).toEqual([
      { dst: 'default', gateway: '192.168.1.1', dev: 'eth0' },
      { dst: '10.9.0.0/16', dev: 'br0', protocol: 'kernel', scope: 'link', prefsrc: '10.9.0.1' },
      { dst: '192.168.1.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '192.168.1.10' },
      { dst: '192.168.200.0/24', dev: 'vx200', protocol: 'kernel', scope: 'link', prefsrc: '192.168.200.1' },
    ]);
  });

  it('treats empty output as no entries', () => {
    expect(parseLinks('')).toEqual([]);
    expect(parseAddresses('')).toEqual([]);
    expect(parseRoutes('')).toEqual([]);
  });
});

describe('linkAddArgs', () => {
  it('builds the exact `ip link add` arguments for every kind', () => {
    expect(linkAddArgs({ kind: 'veth', name: 'veth0', peer: 'veth1' })).toEqual([
      'link',
      'add',
      'veth0',
      'type',
      'veth',
      'peer',
      'name',
      'veth1',
    ]);
    expect(linkAddArgs({ kind: 'veth', name: 'h1', peer: 'eth0', peerNetns: 'node1', mtu: 1400 })).toEqual([
      'link',
      'add',
      'h1',
      'mtu',
      '1400',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      'node1',
    ]);
    expect(linkAddArgs({ kind: 'bridge', name: 'br0' })).toEqual(['link', 'add', 'br0', 'type', 'bridge']);
    expect(linkAddArgs({ kind: 'vlan', name: 'eth0.200', parent: 'eth0', id: 200 })).toEqual([
      'link',
      'add',
      'link',
      'eth0',
      'name',
      'eth0.200',
      'type',
      'vlan',
      'protocol',
      '802.1Q',
      'id',
      '200',
    ]);
    expect(linkAddArgs({ kind: 'vxlan', name: 'vx200', vni: 200, port: 4790, dev: 'eth0', group: '239.1.1.200' })).toEqual([
      'link',
      'add',
      'vx200',
      'type',
      'vxlan',
      'id',
      '200',
      'dstport',
      '4790',
      'group',
      '239.1.1.200',
      'dev',
      'eth0',
    ]);
    expect(linkAddArgs({ kind: 'vxlan', name: 'vx201', vni: 201, port: 4791, local: '192.168.1.10', learning: false, mtu: 1450 })).toEqual([
      'link',
      'add',
      'vx201',
      'mtu',
      '1450',
      'type',
      'vxlan',
      'id',
      '201',
      'dstport',
      '4791',
      'local',
      '192.168.1.10',
      'nolearning',
    ]);
  });

  it.each([
    [{ kind: 'bridge', name: 'a/b' }, 'interface name "a/b" may only contain'],
    [{ kind: 'bridge', name: 'a-very-long-name0' }, 'interface name "a-very-long-name0" is 17 characters long; Linux allows at most 15'],
    [{ kind: 'veth', name: 'v0', peer: 'bad peer' }, 'veth peer name "bad peer" may only contain'],
    [{ kind: 'veth', name: 'v0', peer: 'v1', peerNetns: '../etc' }, 'network namespace name "../etc" may only contain'],
    [{ kind: 'vlan', name: 'eth0.0', parent: 'eth0', id: 0 }, 'VLAN id 0 must be between 1 and 4094'],
    [{ kind: 'vlan', name: 'eth0.x', parent: 'eth0', id: 4095 }, 'VLAN id 4095 must be between 1 and 4094'],
    [{ kind: 'vlan', name: 'e.1', parent: 'eth:0', id: 1 }, 'VLAN parent interface "eth:0" is an address label'],
    [{ kind: 'vxlan', name: 'vx', vni: 0, port: 4790 }, 'VXLAN id 0 must be a whole number between 1 and 16777215'],
    [{ kind: 'vxlan', name: 'vx', vni: 1, port: 70000 }, 'VXLAN port 70000 must be a UDP port between 1 and 65535'],
    [{ kind: 'vxlan', name: 'vx', vni: 1, port: 4790, group: '239.1.1' }, 'address "239.1.1" must be an IPv4 address'],
    [{ kind: 'vxlan', name: 'vx', vni: 1, port: 4790, local: '10.0.0.300' }, 'address "10.0.0.300" must be an IPv4 address'],
    [{ kind: 'vxlan', name: 'vx', vni: 1, port: 4790, dev: '' }, 'VXLAN underlay device "" is empty'],
  ] as const)('rejects invalid spec %j', (spec, message) => {
    let error: unknown;
    try {
      linkAddArgs(spec as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ClusterLabError);
    expect((error as ClusterLabError).message).toContain(message);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', errorClass: 'usage' });
  });
});

describe('IpRoute2 commands', () => {
  it('runs every read with exact arguments, with and without a namespace', async () => {
    const runner = new FakeRunner()
      .on('ip', ['-j', '-d', 'link', 'show'], { stdout: LINKS })
      .on('ip', ['-n', 'node1', '-j', '-d', 'link', 'show', 'dev', 'vx200'], { stdout: LINK_VX200 })
      .on('ip', ['-j', 'address', 'show'], { stdout: ADDRS })
      .on('ip', ['-n', 'node1', '-j', 'address', 'show', 'dev', 'eth0'], { stdout: ADDRS_ETH0 })
      .on('ip', ['-j', 'route', 'show'], { stdout: ROUTES });
    const ip = new IpRoute2(runner);
    expect(await ip.listLinks()).toHaveLength(7);
    expect((await ip.in('node1').getLink('vx200'))?.vxlan?.vni).toBe(200);
    expect(await ip.listAddresses()).toHaveLength(10);
    expect((await ip.in('node1').listAddresses('eth0')).map((a) => a.cidr)).toEqual(['192.168.1.10/24', 'fe80::7821:1dff:fe74:5585/64']);
    expect(await ip.routes()).toHaveLength(4);
    expect(runner.commands()).toEqual([
      'ip -j -d link show',
      'ip -n node1 -j -d link show dev vx200',
      'ip -j address show',
      'ip -n node1 -j address show dev eth0',
      'ip -j route show',
    ]);
    expect(runner.calls.every((c) => (c.options as { timeoutMs?: number }).timeoutMs === 10_000)).toBe(true);
  });

  it('runs every change with exact arguments', async () => {
    const runner = new FakeRunner()
      .on('ip', { prefix: ['-n', 'n1', 'link'] }, {})
      .on('ip', ['-n', 'n1', '-j', 'address', 'show', 'dev', 'eth0'], { stdout: ADDRS_ETH0 })
      .on('ip', { prefix: ['-n', 'n1', 'address'] }, {});
    const ip = new IpRoute2(runner).in('n1');
    expect(ip.netns).toBe('n1');
    await ip.addLink({ kind: 'bridge', name: 'br0' });
    await ip.setUp('br0');
    await ip.setDown('br0');
    await ip.setMtu('br0', 1400);
    await ip.rename('br0', 'sw0');
    await ip.setMaster('veth1', 'sw0');
    await ip.setNetns('veth1', 'n2');
    expect(await ip.delLink('sw0')).toBe(true);
    expect(await ip.addAddress('eth0', '192.168.200.5/24')).toBe(true);
    expect(await ip.addAddress('eth0', '192.168.1.10/24')).toBe(false);
    expect(await ip.delAddress('eth0', '192.168.200.5/24')).toBe(true);
    expect(runner.commands()).toEqual([
      'ip -n n1 link add br0 type bridge',
      'ip -n n1 link set dev br0 up',
      'ip -n n1 link set dev br0 down',
      'ip -n n1 link set dev br0 mtu 1400',
      'ip -n n1 link set dev br0 name sw0',
      'ip -n n1 link set dev veth1 master sw0',
      'ip -n n1 link set dev veth1 netns n2',
      'ip -n n1 link del dev sw0',
      'ip -n n1 -j address show dev eth0',
      'ip -n n1 address add 192.168.200.5/24 dev eth0',
      'ip -n n1 -j address show dev eth0',
      'ip -n n1 address del 192.168.200.5/24 dev eth0',
    ]);
  });

  it('creates links of every kind with exact arguments', async () => {
    const runner = new FakeRunner().on('ip', { prefix: ['link', 'add'] }, {});
    const ip = new IpRoute2(runner);
    await ip.addLink({ kind: 'veth', name: 'h1', peer: 'eth0', peerNetns: 'node1' });
    await ip.addLink({ kind: 'bridge', name: 'br0', mtu: 1500 });
    await ip.addLink({ kind: 'vlan', name: 'eth0.200', parent: 'eth0', id: 200 });
    await ip.addLink({ kind: 'vxlan', name: 'vx200', vni: 200, port: 4790, group: '239.1.1.200', dev: 'eth0' });
    expect(runner.commands()).toEqual([
      'ip link add h1 type veth peer name eth0 netns node1',
      'ip link add br0 mtu 1500 type bridge',
      'ip link add link eth0 name eth0.200 type vlan protocol 802.1Q id 200',
      'ip link add vx200 type vxlan id 200 dstport 4790 group 239.1.1.200 dev eth0',
    ]);
  });

  it('getLink returns undefined for a missing link; requireLink lists the links that exist', async () => {
    const runner = new FakeRunner()
      .on('ip', ['-j', '-d', 'link', 'show', 'dev', 'eth9'], fail('Device "eth9" does not exist.'))
      .on('ip', ['-j', '-d', 'link', 'show'], { stdout: LINKS });
    const ip = new IpRoute2(runner);
    expect(await ip.getLink('eth9')).toBeUndefined();
    const error = await errorOf(ip.requireLink('eth9'));
    expect(error).toBeInstanceOf(LinkNotFoundError);
    expect(error).toMatchObject({
      code: 'LINK_NOT_FOUND',
      link: 'eth9',
      message: 'network interface "eth9" does not exist',
      hint: 'use one of: br0, veth1, veth0, eth0, vx200, vx201',
      errorClass: 'config',
    });
  });

  it('delLink and delAddress of something absent return false', async () => {
    const runner = new FakeRunner()
      .on('ip', ['link', 'del', 'dev', 'gone0'], fail('Cannot find device "gone0"'))
      .on('ip', ['address', 'del', '10.1.1.1/24', 'dev', 'eth0'], fail('Error: ipv4: Address not found.', 2))
      .on('ip', ['address', 'del', '10.1.1.1/24', 'dev', 'gone0'], fail('Cannot find device "gone0"'));
    const ip = new IpRoute2(runner);
    expect(await ip.delLink('gone0')).toBe(false);
    expect(await ip.delAddress('eth0', '10.1.1.1/24')).toBe(false);
    expect(await ip.delAddress('gone0', '10.1.1.1/24')).toBe(false);
  });

  it('maps `ip` errors to typed errors naming the right link', async () => {
    const runner = new FakeRunner()
      .on('ip', ['link', 'set', 'dev', 'gone0', 'up'], fail('Cannot find device "gone0"'))
      .on(
        'ip',
        ['link', 'set', 'dev', 'veth0', 'master', 'nosuch'],
        fail('Error: argument "nosuch" is wrong: Device does not exist\n', 255),
      )
      .on('ip', ['link', 'set', 'dev', 'veth0', 'master', 'veth1'], fail('RTNETLINK answers: Operation not supported', 2))
      .on('ip', ['link', 'set', 'dev', 'br0', 'name', 'veth0'], fail('RTNETLINK answers: File exists', 2))
      .on('ip', ['link', 'set', 'dev', 'up0', 'name', 'new0'], fail('RTNETLINK answers: Device or resource busy', 2))
      .on(
        'ip',
        ['link', 'set', 'dev', 'veth0', 'netns', 'nosuchns'],
        fail('Error: argument "nosuchns" is wrong: Invalid "netns" value\n', 255),
      )
      .on('ip', ['link', 'set', 'dev', 'veth0', 'mtu', '68'], fail('Error: mtu less than device minimum.', 2))
      .on('ip', ['link', 'add', 'br0', 'type', 'bridge'], fail('RTNETLINK answers: File exists', 2))
      .on('ip', ['link', 'add', 'vE', 'type', 'veth', 'peer', 'name', 'veth0'], fail('RTNETLINK answers: File exists', 2))
      .on('ip', ['-j', '-d', 'link', 'show', 'dev', 'vE'], fail('Device "vE" does not exist.'))
      .on('ip', { prefix: ['link', 'add', 'link', 'nosuch'] }, fail('Cannot find device "nosuch"'))
      .on('ip', { prefix: ['link', 'add', 'link', 'eth0'] }, fail('Error: Unknown device type.', 2))
      .on('ip', { prefix: ['link', 'add', 'vx9'] }, fail('Cannot find device "nosuch"', 255))
      .on('ip', ['-j', 'address', 'show', 'dev', 'gone0'], fail('Device "gone0" does not exist.'))
      .on('ip', ['-j', 'address', 'show', 'dev', 'eth0'], { stdout: ADDRS_ETH0 })
      .on('ip', ['address', 'add', '192.168.200.9/24', 'dev', 'eth0'], fail('Error: ipv4: Address already assigned.', 2))
      .on('ip', ['link', 'set', 'dev', 'weird0', 'up'], fail('RTNETLINK answers: Permission denied', 2));
    const ip = new IpRoute2(runner);

    expect(await errorOf(ip.setUp('gone0'))).toMatchObject({ constructor: LinkNotFoundError, link: 'gone0' });
    expect(await errorOf(ip.setMaster('veth0', 'nosuch'))).toMatchObject({ constructor: LinkNotFoundError, link: 'nosuch' });
    expect(await errorOf(ip.setMaster('veth0', 'veth1'))).toMatchObject({
      code: 'NOT_A_BRIDGE',
      message: 'cannot enslave "veth0" to "veth1": "veth1" is not a bridge',
    });
    expect(await errorOf(ip.rename('br0', 'veth0'))).toMatchObject({ constructor: LinkExistsError, link: 'veth0' });
    expect(await errorOf(ip.rename('up0', 'new0'))).toMatchObject({ code: 'LINK_BUSY', hint: 'set it down first' });
    expect(await errorOf(ip.setNetns('veth0', 'nosuchns'))).toMatchObject({
      constructor: NetnsNotFoundError,
      netns: 'nosuchns',
      code: 'NETNS_NOT_FOUND',
    });
    expect(await errorOf(ip.setMtu('veth0', 68))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'MTU 68 is not accepted by "veth0" (Error: mtu less than device minimum.)',
    });
    expect(await errorOf(ip.addLink({ kind: 'bridge', name: 'br0' }))).toMatchObject({ constructor: LinkExistsError, link: 'br0' });
    // The new name is free, so it is the peer's name that is taken.
    expect(await errorOf(ip.addLink({ kind: 'veth', name: 'vE', peer: 'veth0' }))).toMatchObject({
      constructor: LinkExistsError,
      link: 'veth0',
    });
    expect(await errorOf(ip.addLink({ kind: 'vlan', name: 'nosuch.5', parent: 'nosuch', id: 5 }))).toMatchObject({
      constructor: LinkNotFoundError,
      link: 'nosuch',
    });
    const vlan = (await errorOf(ip.addLink({ kind: 'vlan', name: 'eth0.5', parent: 'eth0', id: 5 }))) as ClusterLabError;
    expect(vlan).toMatchObject({ code: 'LINK_KIND_UNSUPPORTED', errorClass: 'dependency' });
    expect(vlan.message).toBe('this kernel cannot create vlan links ("eth0.5"): Error: Unknown device type.');
    expect(vlan.hint).toContain('modprobe 8021q');
    expect(await errorOf(ip.addLink({ kind: 'vxlan', name: 'vx9', vni: 9, port: 4790, dev: 'nosuch' }))).toMatchObject({
      constructor: LinkNotFoundError,
      link: 'nosuch',
    });
    expect(await errorOf(ip.addAddress('gone0', '10.0.0.1/24'))).toMatchObject({ constructor: LinkNotFoundError, link: 'gone0' });
    // Lost a race with another writer: the address is there, which is what was asked.
    expect(await ip.addAddress('eth0', '192.168.200.9/24')).toBe(false);
    // Anything unrecognised stays a CommandError with the stderr.
    const other = await errorOf(ip.setUp('weird0'));
    expect(other).toBeInstanceOf(CommandError);
    expect((other as CommandError).message).toBe('`ip link set dev weird0 up` failed (exit code 2): RTNETLINK answers: Permission denied');
  });

  it('maps a missing namespace to NetnsNotFoundError', async () => {
    const runner = new FakeRunner().on(
      'ip',
      { prefix: ['-n', 'ghost'] },
      fail('Cannot open network namespace "ghost": No such file or directory', 255),
    );
    const error = await errorOf(new IpRoute2(runner).in('ghost').listLinks());
    expect(error).toBeInstanceOf(NetnsNotFoundError);
    expect((error as Error).message).toBe('network namespace "ghost" does not exist');
  });

  it('validates names, addresses and MTUs before running anything', async () => {
    const runner = new FakeRunner();
    const ip = new IpRoute2(runner);
    await expect(ip.getLink('eth0:1')).rejects.toThrow(
      'interface name "eth0:1" is an address label (an alias address on "eth0"), not a link',
    );
    await expect(ip.addAddress('eth0', '192.168.200.1')).rejects.toThrow(
      'address "192.168.200.1" must be an IPv4 CIDR like 192.168.200.0/24',
    );
    await expect(ip.delAddress('eth0', '300.1.1.1/24')).rejects.toThrow('address "300.1.1.1/24" must be an IPv4 CIDR');
    await expect(ip.setMtu('eth0', 67)).rejects.toThrow('MTU 67 must be a whole number between 68 and 65535');
    await expect(ip.rename('eth0', 'x'.repeat(16))).rejects.toThrow('is 16 characters long');
    await expect(ip.setMaster('eth0', 'br 0')).rejects.toThrow('interface name "br 0"');
    await expect(ip.setNetns('eth0', 'a/b')).rejects.toThrow('network namespace name "a/b"');
    expect(() => ip.in('../../proc/1/ns/net')).toThrow('network namespace name "../../proc/1/ns/net"');
    expect(runner.calls).toEqual([]);
  });
});
