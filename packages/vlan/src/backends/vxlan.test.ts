import { IpRoute2 } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { FakeIpNode, fixtureLink } from '../testing/fake-ip-node.js';
import { uplinkState } from '../testing/uplink-state.js';
import { BackendError } from './backend-error.js';
import { VxlanBackend, type VxlanBackendOptions, vxlanMacFor } from './vxlan.js';

/** The uplink fixture's MAC decides the VXLAN link's MAC (stable across restarts). */
const VX_MAC = vxlanMacFor(fixtureLink('veth-eth0-up.json').address, 200);

function setup(options: Partial<VxlanBackendOptions> = {}, node = new FakeIpNode().withUplink(), netns?: string) {
  const network = new IpRoute2(node.runner, netns);
  const backend = new VxlanBackend({ uplink: 'eth0', name: 'vx200', vni: 200, ...options }, { network, runner: node.runner });
  return { node, network, backend };
}

async function caught(fn: () => unknown): Promise<BackendError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof BackendError) return error;
    throw error;
  }
  throw new Error('expected a BackendError');
}

const PEERS = ['10.99.0.11', '10.99.0.12', '10.99.0.13'];

describe('VxlanBackend.ensure', () => {
  it('creates a multicast VXLAN over the uplink: port 4790, MTU 1450, exactly these calls', async () => {
    const { node, backend } = setup();
    const result = await backend.ensure();
    expect(node.commands()).toEqual([
      'ip -j -d link show dev eth0',
      'ip -j -d link show dev vx200',
      `ip link add vx200 mtu 1450 address ${VX_MAC} type vxlan id 200 dstport 4790 group 239.1.1.200 dev eth0`,
      'ip link set dev vx200 up',
      'ip -j -d link show dev vx200',
      'ip -j address show dev vx200',
    ]);
    expect(result).toMatchObject({ created: true, broughtUp: true, link: { name: 'vx200', mtu: 1450, up: true, addresses: [] } });
    expect(result.link.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  });

  it('with static peers: no group, one fdb entry per other node, its own address skipped', async () => {
    const { node, backend } = setup({ peers: PEERS });
    await backend.ensure();
    expect(node.changes()).toEqual([
      `ip link add vx200 mtu 1450 address ${VX_MAC} type vxlan id 200 dstport 4790 dev eth0`,
      'ip link set dev vx200 up',
      'bridge fdb append 00:00:00:00:00:00 dev vx200 dst 10.99.0.12',
      'bridge fdb append 00:00:00:00:00:00 dev vx200 dst 10.99.0.13',
    ]);
    expect(node.commands()).toContain('bridge -j fdb show dev vx200');
    expect(node.fdb.get('vx200')?.map((e) => e.dst)).toEqual(['10.99.0.12', '10.99.0.13']);
  });

  it('is idempotent: a second ensure creates nothing and appends no entry twice', async () => {
    const { node, backend } = setup({ peers: PEERS });
    await backend.ensure();
    const before = node.changes().length;
    const second = await backend.ensure();
    expect(node.changes().length).toBe(before);
    expect(second).toMatchObject({ created: false, broughtUp: false });
  });

  it('adds only the missing peer to an existing link (real fdb output)', async () => {
    const existing = fixtureLink('vxlan-peers-down.json');
    existing.ifname = 'vx200';
    (existing.linkinfo as { info_data: { id: number } }).info_data.id = 200;
    const node = new FakeIpNode().withUplink().withLink(existing);
    node.fdb.set('vx200', [{ mac: '00:00:00:00:00:00', dst: '10.99.0.12', flags: ['self'], state: 'permanent' }]);
    const { backend } = setup({ peers: PEERS }, node);
    expect(await backend.ensure()).toMatchObject({ created: false, broughtUp: true });
    expect(node.changes()).toEqual(['ip link set dev vx200 up', 'bridge fdb append 00:00:00:00:00:00 dev vx200 dst 10.99.0.13']);
  });

  it('runs bridge in the same namespace as a namespaced network handle', async () => {
    const { node, backend } = setup({ peers: ['10.99.0.12'] }, undefined, 'n1');
    await backend.ensure();
    expect(node.commands()).toContain(`ip -n n1 link add vx200 mtu 1450 address ${VX_MAC} type vxlan id 200 dstport 4790 dev eth0`);
    expect(node.commands()).toContain('bridge -n n1 -j fdb show dev vx200');
    expect(node.commands()).toContain('bridge -n n1 fdb append 00:00:00:00:00:00 dev vx200 dst 10.99.0.12');
  });

  it('deletes the link it created when adding a peer fails', async () => {
    const { node, backend } = setup({ peers: ['10.99.0.12'] });
    node.runner.once('bridge', { prefix: ['fdb', 'append'] }, { exitCode: 255, stderr: 'RTNETLINK answers: Invalid argument\n' });
    await expect(backend.ensure()).rejects.toThrow(/Invalid argument/);
    expect(node.links.has('vx200')).toBe(false);
  });

  it('refuses a same-named VXLAN with another VNI (LINK_CONFLICT)', async () => {
    const node = new FakeIpNode().withUplink().withLink(fixtureLink('vxlan-group-up.json'));
    const { backend } = setup({ vni: 201 }, node);
    const error = await caught(() => backend.ensure());
    expect(error.code).toBe('LINK_CONFLICT');
    expect(error.message).toBe(
      'interface "vx200" already exists as VXLAN VNI 200 port 4790 group 239.1.1.200 on eth0, not VXLAN VNI 201 port 4790 group 239.1.1.200 on eth0',
    );
    expect(node.changes()).toEqual([]);
  });

  it('refuses an MTU that does not fit the uplink minus 50 bytes', async () => {
    const { backend } = setup({ mtu: 1500 });
    const error = await caught(() => backend.ensure());
    expect(error.code).toBe('MTU_TOO_LARGE');
    expect(error.hint).toBe('set network.mtu to 1450 or less');
  });

  it('a kernel without VXLAN → KERNEL_NO_VXLAN (dependency) and nothing left behind', async () => {
    const { node, backend } = setup({}, new FakeIpNode({ vxlan: false }).withUplink());
    const error = await caught(() => backend.ensure());
    expect(error).toMatchObject({ code: 'KERNEL_NO_VXLAN', errorClass: 'dependency' });
    expect(error.hint).toContain('modprobe vxlan');
    expect([...node.links.keys()]).toEqual(['eth0']);
  });

  it('fails with UPLINK_NOT_FOUND when the uplink is missing', async () => {
    const error = await caught(() => setup({ uplink: 'eth1' }).backend.ensure());
    expect(error.code).toBe('UPLINK_NOT_FOUND');
    expect(error.hint).toContain('eth0');
  });
});

describe('VxlanBackend.teardown', () => {
  it('deletes the link it created (and its fdb entries with it); twice is harmless', async () => {
    const { node, backend } = setup({ peers: PEERS });
    const result = await backend.ensure();
    expect(await backend.teardown(result)).toBe(true);
    expect(await backend.teardown(result)).toBe(false);
    expect(node.changes().filter((c) => c.includes(' del '))).toEqual(['ip link del dev vx200']);
    expect(node.links.has('vx200')).toBe(false);
  });

  it('leaves the uplink addresses and routes as they were', async () => {
    const { network, backend } = setup({ peers: PEERS });
    const before = await uplinkState(network, 'eth0');
    await backend.ensure();
    expect(await uplinkState(network, 'eth0')).toEqual(before);
    await backend.teardown();
    expect(await uplinkState(network, 'eth0')).toEqual(before);
  });

  it('a reused link is set down again, not deleted', async () => {
    const node = new FakeIpNode().withUplink().withLink(fixtureLink('vxlan-group-down.json'));
    const { backend } = setup({}, node);
    await backend.teardown(await backend.ensure());
    expect(node.changes()).toEqual(['ip link set dev vx200 up', 'ip link set dev vx200 down']);
  });
});

describe('VxlanBackend input validation', () => {
  const build = (options: Partial<VxlanBackendOptions>) => () => setup(options);

  it.each([
    [{ port: 4789 }, 'VXLAN_PORT_RESERVED', "VXLAN UDP port 4789 collides with Docker Swarm's overlay data path"],
    [{ port: 0 }, 'INVALID_PORT', 'VXLAN UDP port 0 must be a whole number between 1 and 65535'],
    [{ port: 70000 }, 'INVALID_PORT', 'VXLAN UDP port 70000 must be a whole number between 1 and 65535'],
    [{ vni: 0 }, 'INVALID_VNI', 'VXLAN VNI 0 must be a whole number between 1 and 16777215'],
    [{ vni: 2 ** 24 }, 'INVALID_VNI', 'VXLAN VNI 16777216 must be a whole number between 1 and 16777215'],
    [{ name: 'vx/200' }, 'INVALID_INTERFACE_NAME', 'VXLAN link name "vx/200" may only contain'],
    [{ name: 'eth0' }, 'INVALID_INTERFACE_NAME', 'VXLAN link name "eth0" is the uplink itself'],
    [{ group: '10.0.0.1' }, 'INVALID_ADDRESS', 'network.vxlan.group "10.0.0.1" is not a multicast address (224.0.0.0/4)'],
    [{ group: '239.1.1' }, 'INVALID_ADDRESS', 'network.vxlan.group "239.1.1" must be an IPv4 address'],
    [{ peers: ['10.99.0.12', '10.99.0.300'] }, 'INVALID_ADDRESS', 'network.vxlan.peers[1] "10.99.0.300" must be an IPv4 address'],
    [{ group: '239.1.1.200', peers: ['10.99.0.12'] }, 'VXLAN_GROUP_AND_PEERS', 'network.vxlan has both a multicast group and static peers'],
    [{ mtu: 10 }, 'INVALID_MTU', 'MTU 10 must be a whole number between 68 and 65535'],
  ])('%j → %s', async (options, code, message) => {
    const error = await caught(build(options));
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
    expect(error.hint).toBeTruthy();
  });

  it('a peer written as a CIDR gets a hint to drop the prefix', async () => {
    const error = await caught(build({ peers: ['10.99.0.12/24'] }));
    expect(error.hint).toBe('write the address without a prefix length, e.g. 10.99.0.12');
  });
});

describe('VxlanBackend.describe', () => {
  it('reports a healthy multicast link', async () => {
    const { backend } = setup();
    await backend.ensure();
    expect(await backend.describe()).toMatchObject({
      kind: 'vxlan',
      exists: true,
      up: true,
      kindMatches: true,
      vni: 200,
      port: 4790,
      group: '239.1.1.200',
      mtu: 1450,
      ok: true,
    });
  });

  it('reports missing peers, a group mismatch and an uplink without address', async () => {
    const node = new FakeIpNode().withUplink().withLink(fixtureLink('vxlan-group-up.json'));
    node.addrs.set('eth0', []);
    const { backend } = setup({ peers: ['10.99.0.12'] }, node);
    const d = await backend.describe();
    expect(d.problems.map((p) => p.code)).toEqual(['UNDERLAY_NO_ADDRESS', 'GROUP_MISMATCH', 'PEER_MISSING']);
    expect(d.problems[2]?.hint).toContain('bridge fdb append 00:00:00:00:00:00 dev vx200 dst 10.99.0.12');
    expect(d.peers).toEqual([]);
  });

  it('reports a VNI and port mismatch and lists the peers it has', async () => {
    const existing = { ...fixtureLink('vxlan-peers-down.json'), ifname: 'vx200' };
    const node = new FakeIpNode().withUplink().withLink(existing);
    node.fdb.set('vx200', JSON.parse('[{"mac":"00:00:00:00:00:00","dst":"10.99.0.12","flags":["self"],"state":"permanent"}]'));
    const d = await setup({ peers: ['10.99.0.12'], port: 4800 }, node).backend.describe();
    expect(d.problems.map((p) => p.code)).toEqual(['LINK_DOWN', 'VNI_MISMATCH', 'PORT_MISMATCH']);
    expect(d.peers).toEqual(['10.99.0.12']);
  });
});
