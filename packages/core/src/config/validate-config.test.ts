import { describe, expect, it } from 'vitest';
import { InMemoryNetwork } from '../net/in-memory-network.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { hostConfigProblems, parseConfig } from './validate-config.js';

function problemsOf(input: unknown): ConfigError {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

const vxlan = (vx: Record<string, unknown>) => ({ network: { backend: 'vxlan', vxlan: vx } });
const KEY16 = 'pUqJrVyVRj5jsiYEkM/tFQ==';
const KEY32 = 'Zr6eT1Z7Vx1eVx0p8Z2eMsr3QpYtJnQJ4nqgh7P6k4Y=';

/**
 * Every field with a wrong value, and the one problem it must produce: the field path, the
 * offending value and the message. The rendered line of each is checked too.
 */
const BAD: [string, unknown, ConfigProblem['path'], unknown, string][] = [
  // interface
  [
    'interface with "/"',
    { interface: 'eth0/1' },
    'interface',
    'eth0/1',
    'interface name may only contain letters, digits and . _ - @ (no "/", ":" or whitespace)',
  ],
  [
    'interface with ":"',
    { interface: 'eth0:1' },
    'interface',
    'eth0:1',
    'interface name is an address label (an alias address on "eth0"), not a link; use "eth0"',
  ],
  [
    'interface longer than 15',
    { interface: 'enx0123456789abc' },
    'interface',
    'enx0123456789abc',
    'interface name is 16 characters long; Linux allows at most 15',
  ],
  ['empty interface', { interface: '' }, 'interface', '', 'interface name is empty'],
  [
    'interface too long for its VLAN link name',
    { interface: 'enx0123456789a', network: { vlanId: 200 } },
    'interface',
    'enx0123456789a',
    'makes the VLAN link name "enx0123456789a.200" 18 characters long; Linux allows at most 15',
  ],
  [
    'vlanName equal to the uplink',
    { interface: 'eth1', network: { vlanName: 'eth1' } },
    'network.vlanName',
    'eth1',
    'is the uplink interface itself',
  ],
  [
    'vlanName longer than 15',
    { network: { vlanName: 'cluster-vlan-0200' } },
    'network.vlanName',
    'cluster-vlan-0200',
    'interface name is 17 characters long; Linux allows at most 15',
  ],
  ['interface not a string', { interface: 0 }, 'interface', 0, 'must be a string'],
  // network
  ['unknown backend', { network: { backend: 'wifi' } }, 'network.backend', 'wifi', 'must be one of vlan, native, vxlan'],
  ['vlanId 0', { network: { vlanId: 0 } }, 'network.vlanId', 0, 'must be between 1 and 4094'],
  ['vlanId 4095', { network: { vlanId: 4095 } }, 'network.vlanId', 4095, 'must be between 1 and 4094'],
  ['vlanId "abc"', { network: { vlanId: 'abc' } }, 'network.vlanId', 'abc', 'must be a number'],
  ['vlanId 1.5', { network: { vlanId: 1.5 } }, 'network.vlanId', 1.5, 'must be a whole number'],
  ['mtu too small', { network: { mtu: 500 } }, 'network.mtu', 500, 'must be at least 576'],
  ['mtu too big', { network: { mtu: 9001 } }, 'network.mtu', 9001, 'must be at most 9000'],
  ['network not an object', { network: 'vlan' }, 'network', 'vlan', 'must be an object'],
  ['vxlan vni 0', vxlan({ vni: 0 }), 'network.vxlan.vni', 0, 'must be at least 1'],
  ['vxlan vni too big', vxlan({ vni: 16_777_216 }), 'network.vxlan.vni', 16_777_216, 'must be at most 16777215'],
  ['vxlan port 4789', vxlan({ port: 4789 }), 'network.vxlan.port', 4789, 'collides with Docker Swarm overlay traffic (UDP 4789)'],
  ['vxlan port 0', vxlan({ port: 0 }), 'network.vxlan.port', 0, 'must be at least 1'],
  ['vxlan port 65536', vxlan({ port: 65_536 }), 'network.vxlan.port', 65_536, 'must be at most 65535'],
  [
    'vxlan group not an address',
    vxlan({ group: '239.1.1' }),
    'network.vxlan.group',
    '239.1.1',
    'must be an IPv4 address like 192.168.200.1',
  ],
  [
    'vxlan group not multicast',
    vxlan({ group: '10.1.1.200' }),
    'network.vxlan.group',
    '10.1.1.200',
    'is not a multicast address (224.0.0.0/4)',
  ],
  [
    'vxlan peer not an address',
    vxlan({ peers: ['10.0.0.2', 'node3'] }),
    'network.vxlan.peers[1]',
    'node3',
    'must be an IPv4 address like 192.168.200.1',
  ],
  [
    'vxlan peer inside the cluster subnet',
    vxlan({ peers: ['192.168.200.2'] }),
    'network.vxlan.peers[0]',
    '192.168.200.2',
    'is inside the cluster subnet 192.168.200.0/24',
  ],
  [
    'vxlan group and peers',
    vxlan({ group: '239.1.1.200', peers: ['10.0.0.2'] }),
    'network.vxlan.peers',
    ['10.0.0.2'],
    'cannot be combined with network.vxlan.group 239.1.1.200',
  ],
  [
    'vxlan name is the uplink',
    { interface: 'vx200', network: { backend: 'vxlan' } },
    'network.vxlan.name',
    'vx200',
    'is the uplink interface itself',
  ],
  [
    'vxlan name too long',
    vxlan({ name: 'vxlan-cluster-200' }),
    'network.vxlan.name',
    'vxlan-cluster-200',
    'interface name is 17 characters long; Linux allows at most 15',
  ],
  // subnet and leader
  ['subnet typo', { subnet: '192.168.2000.0/24' }, 'subnet', '192.168.2000.0/24', 'must be an IPv4 CIDR like 192.168.200.0/24'],
  ['subnet without prefix', { subnet: '192.168.200.0' }, 'subnet', '192.168.200.0', 'must be an IPv4 CIDR like 192.168.200.0/24'],
  ['subnet /33', { subnet: '192.168.200.0/33' }, 'subnet', '192.168.200.0/33', 'must be an IPv4 CIDR like 192.168.200.0/24'],
  [
    'subnet with host bits',
    { subnet: '192.168.200.1/24' },
    'subnet',
    '192.168.200.1/24',
    'is not a network address (did you mean 192.168.200.0/24?)',
  ],
  [
    'subnet too small',
    { subnet: '192.168.200.0/31', leaderAddress: '192.168.200.1', dhcp: { enabled: false } },
    'subnet',
    '192.168.200.0/31',
    'is too small for a cluster (prefix must be /30 or shorter)',
  ],
  [
    'subnet too large',
    { subnet: '0.0.0.0/0', dhcp: { enabled: false } },
    'subnet',
    '0.0.0.0/0',
    'is too large for a cluster (prefix must be /8 or longer)',
  ],
  [
    'leader not an address',
    { leaderAddress: '192.168.200.300' },
    'leaderAddress',
    '192.168.200.300',
    'must be an IPv4 address like 192.168.200.1',
  ],
  [
    'leader outside subnet',
    { leaderAddress: '192.168.1.1' },
    'leaderAddress',
    '192.168.1.1',
    'is outside the cluster subnet 192.168.200.0/24',
  ],
  [
    'leader is the network address',
    { leaderAddress: '192.168.200.0' },
    'leaderAddress',
    '192.168.200.0',
    'is the network address of 192.168.200.0/24',
  ],
  [
    'leader is the broadcast address',
    { leaderAddress: '192.168.200.255' },
    'leaderAddress',
    '192.168.200.255',
    'is the broadcast address of 192.168.200.0/24',
  ],
  // role, priority, hostname
  ['unknown role', { role: 'master' }, 'role', 'master', 'must be one of auto, leader, follower'],
  ['priority above 255', { priority: 256 }, 'priority', 256, 'must be at most 255'],
  ['negative priority', { priority: -1 }, 'priority', -1, 'must be at least 0'],
  [
    'hostname with a dot',
    { hostname: 'pi1.local' },
    'hostname',
    'pi1.local',
    'must be a plain host name (letters, digits and -, at most 63)',
  ],
  // dhcp
  ['dhcp.enabled not a boolean', { dhcp: { enabled: 'yes' } }, 'dhcp.enabled', 'yes', 'must be a boolean'],
  [
    'range start outside subnet',
    { dhcp: { rangeStart: '192.168.1.101' } },
    'dhcp.rangeStart',
    '192.168.1.101',
    'is outside the cluster subnet 192.168.200.0/24',
  ],
  [
    'range end outside subnet',
    { dhcp: { rangeEnd: '192.168.201.10' } },
    'dhcp.rangeEnd',
    '192.168.201.10',
    'is outside the cluster subnet 192.168.200.0/24',
  ],
  [
    'range end is broadcast',
    { dhcp: { rangeEnd: '192.168.200.255' } },
    'dhcp.rangeEnd',
    '192.168.200.255',
    'is the broadcast address of 192.168.200.0/24',
  ],
  [
    'range start is network',
    { dhcp: { rangeStart: '192.168.200.0' } },
    'dhcp.rangeStart',
    '192.168.200.0',
    'is the network address of 192.168.200.0/24',
  ],
  [
    'range start not an address',
    { dhcp: { rangeStart: '192.168.200' } },
    'dhcp.rangeStart',
    '192.168.200',
    'must be an IPv4 address like 192.168.200.1',
  ],
  [
    'range reversed',
    { dhcp: { rangeStart: '192.168.200.200', rangeEnd: '192.168.200.101' } },
    'dhcp.rangeEnd',
    '192.168.200.101',
    'is before dhcp.rangeStart 192.168.200.200',
  ],
  [
    'range containing the leader',
    { dhcp: { rangeStart: '192.168.200.1', rangeEnd: '192.168.200.50' }, leaderAddress: '192.168.200.10' },
    'dhcp.rangeStart',
    '192.168.200.1',
    'range 192.168.200.1-192.168.200.50 contains the leader address 192.168.200.10',
  ],
  ['leaseTime 0', { dhcp: { leaseTime: 0 } }, 'dhcp.leaseTime', 0, 'must be at least 120 seconds (dnsmasq refuses shorter leases)'],
  ['leaseTime 1m', { dhcp: { leaseTime: '1m' } }, 'dhcp.leaseTime', '1m', 'must be at least 120 seconds (dnsmasq refuses shorter leases)'],
  [
    'leaseTime "abc"',
    { dhcp: { leaseTime: 'abc' } },
    'dhcp.leaseTime',
    'abc',
    'must be seconds or a duration like 30m, 12h, 1d, or "infinite"',
  ],
  ['leaseTime 1.5', { dhcp: { leaseTime: 1.5 } }, 'dhcp.leaseTime', 1.5, 'must be seconds or a duration like 30m, 12h, 1d, or "infinite"'],
  [
    'leaseTime true',
    { dhcp: { leaseTime: true } },
    'dhcp.leaseTime',
    true,
    'must be seconds or a duration like 30m, 12h, 1d, or "infinite"',
  ],
  ['leaderTimeout 1', { failover: { leaderTimeout: 1 } }, 'failover.leaderTimeout', 1, 'must be between 2 and 120 seconds'],
  ['leaderTimeout 10m', { failover: { leaderTimeout: '10m' } }, 'failover.leaderTimeout', '10m', 'must be between 2 and 120 seconds'],
  [
    'leaderTimeout soon',
    { failover: { leaderTimeout: 'soon' } },
    'failover.leaderTimeout',
    'soon',
    'must be seconds or a duration like 5s, 1500ms, 2m',
  ],
  ['removeAfter 5s', { membership: { removeAfter: '5s' } }, 'membership.removeAfter', '5s', 'must be between 10 and 604800 seconds'],
  [
    'bad static MAC',
    { dhcp: { staticLeases: [{ mac: 'b8:27:eb:00:02', ip: '192.168.200.2' }] } },
    'dhcp.staticLeases[0].mac',
    'b8:27:eb:00:02',
    'must look like aa:bb:cc:dd:ee:ff',
  ],
  [
    'multicast static MAC',
    { dhcp: { staticLeases: [{ mac: '01:00:5e:00:00:01', ip: '192.168.200.2' }] } },
    'dhcp.staticLeases[0].mac',
    '01:00:5e:00:00:01',
    'is a multicast/broadcast address, not the address of a NIC',
  ],
  [
    'static lease without ip',
    { dhcp: { staticLeases: [{ mac: 'b8:27:eb:00:00:02' }] } },
    'dhcp.staticLeases[0].ip',
    undefined,
    'is required',
  ],
  [
    'duplicate static MACs (any case)',
    {
      dhcp: {
        staticLeases: [
          { mac: 'b8:27:eb:00:00:02', ip: '192.168.200.2' },
          { mac: 'B8:27:EB:00:00:02', ip: '192.168.200.3' },
        ],
      },
    },
    'dhcp.staticLeases[1].mac',
    'b8:27:eb:00:00:02',
    'is reserved twice',
  ],
  [
    'duplicate static IPs',
    {
      dhcp: {
        staticLeases: [
          { mac: 'b8:27:eb:00:00:02', ip: '192.168.200.2' },
          { mac: 'b8:27:eb:00:00:03', ip: '192.168.200.2' },
        ],
      },
    },
    'dhcp.staticLeases[1].ip',
    '192.168.200.2',
    'is reserved for two MACs',
  ],
  [
    'static IP outside subnet',
    { dhcp: { staticLeases: [{ mac: 'b8:27:eb:00:00:02', ip: '10.0.0.2' }] } },
    'dhcp.staticLeases[0].ip',
    '10.0.0.2',
    'is outside the cluster subnet 192.168.200.0/24',
  ],
  [
    'static IP is the leader',
    { dhcp: { staticLeases: [{ mac: 'b8:27:eb:00:00:02', ip: '192.168.200.1' }] } },
    'dhcp.staticLeases[0].ip',
    '192.168.200.1',
    'is the leader address',
  ],
  [
    'static lease bad hostname',
    { dhcp: { staticLeases: [{ mac: 'b8:27:eb:00:00:02', ip: '192.168.200.2', hostname: 'pi 2' }] } },
    'dhcp.staticLeases[0].hostname',
    'pi 2',
    'must be a plain host name (letters, digits, -)',
  ],
  [
    'router outside subnet',
    { dhcp: { router: '192.168.1.1' } },
    'dhcp.router',
    '192.168.1.1',
    'is outside the cluster subnet 192.168.200.0/24',
  ],
  ['dns not an address', { dhcp: { dns: ['dns.google'] } }, 'dhcp.dns[0]', 'dns.google', 'must be an IPv4 address like 192.168.200.1'],
  ['unknown dhcp client', { dhcp: { client: 'pump' } }, 'dhcp.client', 'pump', 'must be one of auto, udhcpc, dhclient, dhcpcd'],
  ['dhcp timeout 0', { dhcp: { timeoutSeconds: 0 } }, 'dhcp.timeoutSeconds', 0, 'must be at least 1'],
  // consul
  ['unknown consul runtime', { consul: { runtime: 'podman' } }, 'consul.runtime', 'podman', 'must be one of auto, container, binary'],
  ['empty consul image', { consul: { image: '' } }, 'consul.image', '', 'must not be empty'],
  ['consul servers 0', { consul: { servers: 0 } }, 'consul.servers', 0, 'must be at least 1'],
  [
    'even consul servers',
    { consul: { servers: 4 }, swarm: { enabled: false } },
    'consul.servers',
    4,
    'must be odd so Consul servers keep a Raft majority',
  ],
  [
    'consul servers other than swarm managers',
    { consul: { servers: 5 } },
    'swarm.managers',
    3,
    'differs from consul.servers (5): the Consul servers and the Swarm managers are the same nodes',
  ],
  [
    'consul datacenter upper case',
    { consul: { datacenter: 'DC1' } },
    'consul.datacenter',
    'DC1',
    'must be lower-case letters, digits, _ or -',
  ],
  [
    'bad gossip key',
    { consul: { encrypt: 'not-a-key' } },
    'consul.encrypt',
    'not-a-key',
    'must be a base64 key of 16 or 32 bytes (`consul keygen`)',
  ],
  [
    'gossip key of 20 bytes',
    { consul: { encrypt: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' } },
    'consul.encrypt',
    'AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    'must be a base64 key of 16 or 32 bytes (`consul keygen`)',
  ],
  ['consul http port 0', { consul: { httpPort: 0 } }, 'consul.httpPort', 0, 'must be at least 1'],
  ['empty acl token', { consul: { aclToken: '' } }, 'consul.aclToken', '', 'must not be empty'],
  // swarm, docker, stateDir
  ['even swarm.managers', { swarm: { managers: 2 } }, 'swarm.managers', 2, 'must be odd (1, 3, 5 or 7) so managers keep a Raft majority'],
  ['swarm.managers 9', { swarm: { managers: 9 } }, 'swarm.managers', 9, 'must be at most 7'],
  [
    'swarm label key upper case',
    { swarm: { labels: { Zone: 'desk' } } },
    'swarm.labels.Zone',
    'Zone',
    'key must be a lower-case label key (a-z, 0-9, . _ -)',
  ],
  ['swarm label value not a string', { swarm: { labels: { zone: 1 } } }, 'swarm.labels.zone', 1, 'must be a string'],
  ['relative docker socket', { docker: { socket: 'docker.sock' } }, 'docker.socket', 'docker.sock', 'must be an absolute path'],
  ['relative stateDir', { stateDir: 'var/lib/cluster-lab' }, 'stateDir', 'var/lib/cluster-lab', 'must be an absolute path'],
  // unknown fields, at every level
  ['unknown field', { interfcae: 'eth0' }, 'interfcae', 'eth0', 'is not a known field'],
  ['unknown nested field', { dhcp: { rangeBegin: '192.168.200.101' } }, 'dhcp.rangeBegin', '192.168.200.101', 'is not a known field'],
  [
    'unknown field in a lease',
    { dhcp: { staticLeases: [{ mac: 'b8:27:eb:00:00:02', ip: '192.168.200.2', name: 'x' }] } },
    'dhcp.staticLeases[0].name',
    'x',
    'is not a known field',
  ],
  ['not an object at all', 'eth0', '(root)', 'eth0', 'must be an object'],
];

describe('parseConfig: one specific problem per bad field', () => {
  it.each(BAD)('%s', (_, input, path, value, message) => {
    const error = problemsOf(input);
    expect(error.problems.map(({ path, value, message }) => ({ path, value, message }))).toEqual([{ path, value, message }]);
    const rendered = `  - ${path}: ${value === undefined ? '(missing)' : JSON.stringify(value)} ${message}`;
    expect(error.message.split('\n')).toContainEqual(expect.stringMatching(new RegExp(`^${escapeRegExp(rendered)}( \\(.+\\))?$`)));
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', errorClass: 'config' });
    expect(error.hint).toBeTruthy();
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('parseConfig', () => {
  it('accepts good values of every field', () => {
    const config = parseConfig({
      interface: 'enp1s0',
      network: {
        backend: 'vxlan',
        vlanId: 4094,
        mtu: 1450,
        vxlan: { vni: 16_777_215, port: 4790, group: '239.1.1.200', name: 'vx-cluster' },
      },
      subnet: '10.20.0.0/16',
      leaderAddress: '10.20.0.1',
      role: 'leader',
      priority: 0,
      hostname: 'pi-1',
      dhcp: {
        enabled: true,
        rangeStart: '10.20.1.1',
        rangeEnd: '10.20.1.254',
        leaseTime: 'infinite',
        staticLeases: [{ mac: 'B8:27:EB:00:00:02', ip: '10.20.0.2', hostname: 'pi2' }],
        router: '10.20.0.254',
        dns: ['10.20.0.1'],
        client: 'udhcpc',
        timeoutSeconds: 600,
      },
      consul: {
        enabled: true,
        runtime: 'binary',
        image: 'consul:1',
        binary: '/usr/bin/consul',
        servers: 5,
        datacenter: 'lab_1',
        encrypt: KEY16,
        aclToken: 't',
        httpPort: 8501,
        exposeUi: true,
      },
      swarm: { enabled: false, managers: 7, labels: { 'cluster-lab.zone': 'desk' } },
      docker: { socket: '/run/docker.sock' },
      failover: { leaderTimeout: '2500ms' },
      membership: { removeAfter: '10m' },
      stateDir: '/srv/cluster-lab',
    });
    expect(config.dhcp.leaseTime).toBe(Number.POSITIVE_INFINITY);
    expect(config.failover.leaderTimeout).toBe(2.5);
    expect(config.membership.removeAfter).toBe(600);
    expect(parseConfig(undefined).failover.leaderTimeout).toBe(5);
    expect(parseConfig(undefined).membership.removeAfter).toBe(60);
    expect(parseConfig({ failover: { leaderTimeout: 8 }, membership: { removeAfter: '90s' } })).toMatchObject({
      failover: { leaderTimeout: 8 },
      membership: { removeAfter: 90 },
    });
    expect(config.dhcp.staticLeases[0]?.mac).toBe('b8:27:eb:00:00:02');
    expect(parseConfig({ consul: { encrypt: KEY32 } }).consul.encrypt).toBe(KEY32);
    expect(parseConfig({ dhcp: { leaseTime: '30m' } }).dhcp.leaseTime).toBe(1800);
    expect(parseConfig({ dhcp: { leaseTime: '1d' } }).dhcp.leaseTime).toBe(86_400);
    expect(parseConfig({ dhcp: { leaseTime: 120 } }).dhcp.leaseTime).toBe(120);
    expect(parseConfig(undefined).interface).toBe('eth0');
  });

  it('accepts a long uplink for the vlan backend once network.vlanName names the link, and hints at it otherwise', () => {
    expect(parseConfig({ interface: 'enx0123456789a', network: { vlanName: 'vlan200' } }).network.vlanName).toBe('vlan200');
    expect(() => parseConfig({ interface: 'enx0123456789a' })).toThrow(
      expect.objectContaining({ hint: 'name the VLAN link yourself: network.vlanName: vlan200' }),
    );
  });

  it('skips DHCP range checks when DHCP is off', () => {
    expect(parseConfig({ dhcp: { enabled: false, rangeStart: '10.0.0.1' } }).dhcp.enabled).toBe(false);
  });

  it('lists every problem at once, with the first hint as the error hint', () => {
    const error = problemsOf({ interface: 'eth0/1', network: { backend: 'wifi', vlanId: 0 }, extra: true });
    expect(error.problems.map((p) => p.path)).toEqual(['interface', 'network.backend', 'network.vlanId', 'extra']);
    expect(error.message).toBe(
      [
        'invalid configuration:',
        '  - interface: "eth0/1" interface name may only contain letters, digits and . _ - @ (no "/", ":" or whitespace) (use the name of your uplink NIC, e.g. eth0 (see `ip link`))',
        '  - network.backend: "wifi" must be one of vlan, native, vxlan (use vlan (default), native or vxlan)',
        '  - network.vlanId: 0 must be between 1 and 4094 (use a VLAN id between 1 and 4094, e.g. 200)',
        '  - extra: true is not a known field (remove it or check its spelling against `cluster-lab config print`)',
      ].join('\n'),
    );
    expect(error.hint).toBe('use the name of your uplink NIC, e.g. eth0 (see `ip link`)');
  });

  it('reports several cross-field problems together', () => {
    const error = problemsOf({
      leaderAddress: '192.168.1.1',
      dhcp: { rangeStart: '192.168.200.250', rangeEnd: '192.168.200.240' },
      consul: { servers: 2 },
    });
    expect(error.problems.map((p) => p.path)).toEqual(['leaderAddress', 'dhcp.rangeEnd', 'consul.servers', 'swarm.managers']);
  });

  it('shortens long values in the message', () => {
    const error = problemsOf({ hostname: 'x'.repeat(100) });
    expect(error.message).toContain(`hostname: "${'x'.repeat(56)}...`);
  });

  it('never shares default arrays or objects between parsed configs', () => {
    const a = parseConfig({});
    a.dhcp.staticLeases.push({ mac: '02:00:00:00:00:09', ip: '192.168.200.9' });
    a.network.vxlan.peers.push('10.0.0.9');
    a.swarm.labels.zone = 'x';
    a.dhcp.dns.push('1.1.1.1');
    const b = parseConfig({});
    expect(b.dhcp.staticLeases).toEqual([]);
    expect(b.network.vxlan.peers).toEqual([]);
    expect(b.swarm.labels).toEqual({});
    expect(b.dhcp.dns).toEqual([]);
  });

  it('names the source in the message', () => {
    expect(() => parseConfig({ role: 'x' }, '/etc/cluster-lab/config.yaml')).toThrow(
      /^invalid configuration in \/etc\/cluster-lab\/config\.yaml:\n/,
    );
  });
});

describe('hostConfigProblems', () => {
  it('accepts an existing uplink and names the ones that exist otherwise', async () => {
    const net = new InMemoryNetwork().withLink('eth0').withLink('wlan0');
    expect(await hostConfigProblems(parseConfig({}), net)).toEqual([]);
    expect(await hostConfigProblems(parseConfig({ interface: 'eth1' }), net)).toEqual([
      { path: 'interface', value: 'eth1', message: 'does not exist on this machine', hint: 'use one of: eth0, wlan0' },
    ]);
    expect((await hostConfigProblems(parseConfig({}), new InMemoryNetwork()))[0]?.hint).toBe('check the interface name with `ip link`');
  });
});
