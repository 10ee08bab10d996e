import { ClusterLabError, CommandError, InMemoryNetwork, IpRoute2, isClusterLabError } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { FakeIpNode, fixtureLink } from '../testing/fake-ip-node.js';
import { uplinkState } from '../testing/uplink-state.js';
import { BackendError } from './backend-error.js';
import { unsupportedLinkKind } from './network-backend.js';
import { VlanBackend, type VlanBackendOptions } from './vlan.js';

function setup(options: Partial<VlanBackendOptions> = {}, node = new FakeIpNode().withUplink()) {
  const network = new IpRoute2(node.runner);
  const backend = new VlanBackend({ uplink: 'eth0', id: 200, ...options }, { network, runner: node.runner });
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

const MAC = fixtureLink('veth-eth0-up.json').address;

describe('VlanBackend.ensure', () => {
  it('creates <uplink>.<id> with exactly these ip calls and reports the link', async () => {
    const { node, backend } = setup();
    const result = await backend.ensure();
    expect(node.commands()).toEqual([
      'ip -j -d link show dev eth0',
      'ip -j -d link show dev eth0.200',
      'ip link add link eth0 name eth0.200 type vlan protocol 802.1Q id 200',
      'ip link set dev eth0.200 up',
      'ip -j -d link show dev eth0.200',
      'ip -j address show dev eth0.200',
    ]);
    expect(result).toEqual({ link: { name: 'eth0.200', mac: MAC, mtu: 1500, up: true, addresses: [] }, created: true, broughtUp: true });
  });

  it('passes a configured MTU to ip link add', async () => {
    const { node, backend } = setup({ mtu: 1400 });
    const { link } = await backend.ensure();
    expect(node.changes()[0]).toBe('ip link add link eth0 name eth0.200 mtu 1400 type vlan protocol 802.1Q id 200');
    expect(link.mtu).toBe(1400);
  });

  it('is idempotent: a second ensure creates and changes nothing', async () => {
    const { node, backend } = setup();
    await backend.ensure();
    const before = node.changes().length;
    const second = await backend.ensure();
    expect(node.changes().length).toBe(before);
    expect(second).toMatchObject({ created: false, broughtUp: false, link: { name: 'eth0.200', up: true } });
  });

  it('reuses an existing matching VLAN that is down: brings it up, created=false', async () => {
    const node = new FakeIpNode().withUplink().withLink(fixtureLink('vlan-eth0.200-down.json'));
    const { backend } = setup({}, node);
    const result = await backend.ensure();
    expect(node.changes()).toEqual(['ip link set dev eth0.200 up']);
    expect(result).toMatchObject({ created: false, broughtUp: true });
  });

  it('a link made by another process between read and add is reused when it is this VLAN', async () => {
    const { node, backend } = setup();
    node.runner.once('ip', { prefix: ['link', 'add'] }, () => {
      node.withLink(fixtureLink('vlan-eth0.200-down.json'));
      return { exitCode: 2, stderr: 'RTNETLINK answers: File exists\n' };
    });
    expect(await backend.ensure()).toMatchObject({ created: false, broughtUp: true, link: { name: 'eth0.200', up: true } });
  });

  it('a link of another kind that appears between read and add is a LINK_CONFLICT', async () => {
    const { node, backend } = setup();
    node.runner.once('ip', { prefix: ['link', 'add'] }, () => {
      node.withLink({ ...fixtureLink('veth-eth0-up.json'), ifname: 'eth0.200' });
      return { exitCode: 2, stderr: 'RTNETLINK answers: File exists\n' };
    });
    expect((await caught(() => backend.ensure())).code).toBe('LINK_CONFLICT');
    expect(node.links.get('eth0.200')?.linkinfo).toEqual({ info_kind: 'veth' });
  });

  it('uses a configured link name (long uplink names)', async () => {
    const node = new FakeIpNode().withUplink('enx0123456789ab');
    const { backend } = setup({ uplink: 'enx0123456789ab', name: 'vlan200' }, node);
    await backend.ensure();
    expect(node.changes()[0]).toBe('ip link add link enx0123456789ab name vlan200 type vlan protocol 802.1Q id 200');
  });

  it('refuses with KERNEL_NO_8021Q on a kernel without 802.1Q and leaves nothing behind', async () => {
    const node = new FakeIpNode({ vlan: false }).withUplink();
    const { backend, network } = setup({}, node);
    const before = await uplinkState(network, 'eth0');
    const error = await caught(() => backend.ensure());
    expect(error.code).toBe('KERNEL_NO_8021Q');
    expect(error.errorClass).toBe('dependency');
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('Unknown device type');
    expect(error.hint).toContain('modprobe 8021q');
    expect(error.hint).toContain('vxlan');
    expect([...node.links.keys()]).toEqual(['eth0']);
    expect(node.changes()).toEqual(['ip link add link eth0 name eth0.200 type vlan protocol 802.1Q id 200']);
    expect(await uplinkState(network, 'eth0')).toEqual(before);
    // and teardown after the failed ensure is a harmless no-op
    expect(await backend.teardown()).toBe(false);
  });

  it('refuses a same-named link of another VLAN id (LINK_CONFLICT), without touching it', async () => {
    const other = fixtureLink('vlan-eth0.200-down.json');
    (other.linkinfo as { info_data: { id: number } }).info_data.id = 300;
    const node = new FakeIpNode().withUplink().withLink(other);
    const { backend } = setup({}, node);
    const error = await caught(() => backend.ensure());
    expect(error.code).toBe('LINK_CONFLICT');
    expect(error.message).toBe('interface "eth0.200" already exists as VLAN 300 on eth0, not VLAN 200 on eth0');
    expect(error.hint).toContain('ip link del dev eth0.200');
    expect(node.changes()).toEqual([]);
  });

  it('refuses a same-named link of another kind (LINK_CONFLICT)', async () => {
    const node = new FakeIpNode().withUplink().withLink({ ...fixtureLink('veth-eth0-up.json'), ifname: 'eth0.200' });
    const { backend } = setup({}, node);
    const error = await caught(() => backend.ensure());
    expect(error.code).toBe('LINK_CONFLICT');
    expect(error.message).toContain('as a veth link');
  });

  it('fails with UPLINK_NOT_FOUND listing the available interfaces', async () => {
    const { backend } = setup({ uplink: 'eth9' });
    const error = await caught(() => backend.ensure());
    expect(error.code).toBe('UPLINK_NOT_FOUND');
    expect(error.message).toBe('uplink interface "eth9" does not exist');
    expect(error.hint).toBe('set `interface` to one of: eth0');
    expect(error.errorClass).toBe('config');
  });

  it('an uplink that vanishes between the check and the add: the kernel’s "Cannot find device" as LINK_NOT_FOUND', async () => {
    const { node, backend } = setup();
    node.runner.once('ip', ['-j', '-d', 'link', 'show', 'dev', 'eth0.200'], () => {
      node.links.delete('eth0');
      return { exitCode: 1, stderr: 'Device "eth0.200" does not exist.\n' };
    });
    await expect(backend.ensure()).rejects.toMatchObject({ code: 'LINK_NOT_FOUND', message: expect.stringContaining('eth0') });
    expect(node.links.has('eth0.200')).toBe(false);
  });

  it('refuses an MTU above the uplink MTU (MTU_TOO_LARGE)', async () => {
    const { backend, node } = setup({ mtu: 9000 });
    const error = await caught(() => backend.ensure());
    expect(error.code).toBe('MTU_TOO_LARGE');
    expect(error.hint).toBe('set network.mtu to 1500 or less');
    expect(node.changes()).toEqual([]);
  });

  it('deletes the link it just created when bringing it up fails', async () => {
    const { node, backend } = setup();
    node.runner.once('ip', ['link', 'set', 'dev', 'eth0.200', 'up'], { exitCode: 2, stderr: 'RTNETLINK answers: Network is down\n' });
    await expect(backend.ensure()).rejects.toThrow(/Network is down/);
    expect(node.changes().at(-1)).toBe('ip link del dev eth0.200');
    expect(node.links.has('eth0.200')).toBe(false);
  });
});

describe('VlanBackend.teardown', () => {
  it('deletes only a link ensure created; twice is harmless', async () => {
    const { node, backend } = setup();
    const { created, broughtUp } = await backend.ensure();
    const n = node.commands().length;
    expect(await backend.teardown({ created, broughtUp })).toBe(true);
    expect(node.commands().slice(n)).toEqual(['ip -j -d link show dev eth0.200', 'ip link del dev eth0.200']);
    expect(await backend.teardown({ created, broughtUp })).toBe(false);
    expect(node.changes().filter((c) => c.includes('del'))).toHaveLength(1);
  });

  it('without arguments undoes this instance’s own ensure', async () => {
    const { node, backend } = setup();
    await backend.ensure();
    expect(await backend.teardown()).toBe(true);
    expect(node.links.has('eth0.200')).toBe(false);
    expect(await backend.teardown()).toBe(false);
  });

  it('a fresh instance without a journal entry changes nothing', async () => {
    const node = new FakeIpNode().withUplink().withLink(fixtureLink('vlan-eth0.200-up.json'));
    const { backend } = setup({}, node);
    expect(await backend.teardown()).toBe(false);
    expect(node.commands()).toEqual([]);
  });

  it('for a reused link only sets it down again, never deletes it', async () => {
    const node = new FakeIpNode().withUplink().withLink(fixtureLink('vlan-eth0.200-down.json'));
    const { backend } = setup({}, node);
    const result = await backend.ensure();
    await backend.teardown(result);
    expect(node.changes()).toEqual(['ip link set dev eth0.200 up', 'ip link set dev eth0.200 down']);
    expect(node.links.has('eth0.200')).toBe(true);
  });

  it('does not delete a same-named link that is not its VLAN, even when the journal says created', async () => {
    const node = new FakeIpNode().withUplink().withLink({ ...fixtureLink('veth-eth0-up.json'), ifname: 'eth0.200' });
    const { backend } = setup({}, node);
    expect(await backend.teardown({ created: true, broughtUp: true })).toBe(false);
    expect(node.changes()).toEqual([]);
  });

  it('leaves the uplink addresses and routes as they were (ensure + teardown)', async () => {
    const { network, backend } = setup({ mtu: 1400 });
    const before = await uplinkState(network, 'eth0');
    expect(before.routes.length).toBeGreaterThan(0);
    await backend.ensure();
    expect(await uplinkState(network, 'eth0')).toEqual(before);
    await backend.teardown();
    expect(await uplinkState(network, 'eth0')).toEqual(before);
  });

  it('works the same on InMemoryNetwork (uplink unchanged, idempotent)', async () => {
    const network = new InMemoryNetwork().withLink('eth0').withRoute({ dst: 'default', gateway: '10.0.0.1', dev: 'eth0' });
    await network.addAddress('eth0', '10.0.0.5/24');
    const backend = new VlanBackend({ uplink: 'eth0', id: 200 }, { network, runner: new FakeIpNode().runner });
    const before = await uplinkState(network, 'eth0');
    const first = await backend.ensure();
    const second = await backend.ensure();
    expect([first.created, second.created]).toEqual([true, false]);
    expect((await network.getLink('eth0.200'))?.vlan).toEqual({ id: 200, protocol: '802.1Q' });
    expect(await backend.teardown(first)).toBe(true);
    expect(await backend.teardown(first)).toBe(false);
    expect(await network.getLink('eth0.200')).toBeUndefined();
    expect(await uplinkState(network, 'eth0')).toEqual(before);
  });
});

describe('VlanBackend input validation', () => {
  const deps = () => {
    const node = new FakeIpNode();
    return { network: new IpRoute2(node.runner), runner: node.runner };
  };
  const build = (options: Partial<VlanBackendOptions>) => () =>
    new VlanBackend({ uplink: 'eth0', id: 200, ...options } as VlanBackendOptions, deps());

  it.each([
    [0, 'VLAN id 0 must be between 1 and 4094 (0 and 4095 are reserved by 802.1Q)'],
    [4095, 'VLAN id 4095 must be between 1 and 4094 (0 and 4095 are reserved by 802.1Q)'],
    ['abc', 'VLAN id "abc" must be a whole number'],
    [20.5, 'VLAN id 20.5 must be a whole number'],
  ])('VLAN id %j → INVALID_VLAN_ID', async (id, message) => {
    const error = await caught(build({ id: id as number }));
    expect(error.code).toBe('INVALID_VLAN_ID');
    expect(error.message).toBe(message);
    expect(error.hint).toContain('network.vlanId');
  });

  it.each([
    ['eth0/1', 'may only contain letters, digits'],
    ['my eth', 'may only contain letters, digits'],
    ['averyveryverylongnic', 'is 20 characters long; Linux allows at most 15'],
    ['', 'is empty'],
  ])('uplink %j → INVALID_INTERFACE_NAME', async (uplink, text) => {
    const error = await caught(build({ uplink }));
    expect(error.code).toBe('INVALID_INTERFACE_NAME');
    expect(error.message).toContain(`uplink interface ${JSON.stringify(uplink)}`);
    expect(error.message).toContain(text);
  });

  it.each(['vlan/200', 'vlan 200', 'cluster-link-number-200'])('link name %j → INVALID_INTERFACE_NAME', async (name) => {
    const error = await caught(build({ name }));
    expect(error.code).toBe('INVALID_INTERFACE_NAME');
    expect(error.message).toContain(`VLAN link name ${JSON.stringify(name)}`);
  });

  it('a derived name over 15 characters → VLAN_NAME_TOO_LONG suggesting a short name', async () => {
    const error = await caught(build({ uplink: 'enx0123456789ab', id: 200 }));
    expect(error.code).toBe('VLAN_NAME_TOO_LONG');
    expect(error.message).toBe(
      'VLAN link name "enx0123456789ab.200" (uplink "enx0123456789ab" + ".200") is 19 characters long; Linux allows at most 15',
    );
    expect(error.hint).toContain('network.vlanName: vlan200');
    expect(error.hint).toContain('linkName');
  });

  it('a link name equal to the uplink is refused', async () => {
    expect((await caught(build({ name: 'eth0' }))).code).toBe('INVALID_INTERFACE_NAME');
  });

  it('an MTU that is not a whole number 68–65535 → INVALID_MTU', async () => {
    expect((await caught(build({ mtu: 20 }))).code).toBe('INVALID_MTU');
  });

  it('errors are ClusterLabErrors the CLI can print', async () => {
    const error = await caught(build({ id: 0 }));
    expect(isClusterLabError(error)).toBe(true);
    expect(error.exitCode).toBe(2);
  });
});

describe('VlanBackend.describe', () => {
  it('reports a healthy link with its VLAN id, MTU and addresses', async () => {
    const { node, backend } = setup();
    await backend.ensure();
    node.addrs.set('eth0.200', [{ family: 'inet', local: '192.168.200.1', prefixlen: 24, scope: 'global' }]);
    const d = await backend.describe();
    expect(d).toMatchObject({
      kind: 'vlan',
      name: 'eth0.200',
      uplink: 'eth0',
      exists: true,
      up: true,
      kindMatches: true,
      vlanId: 200,
      mtu: 1500,
      ok: true,
      problems: [],
    });
    expect(d.addresses).toEqual(['192.168.200.1/24']);
  });

  it('reports a missing link with a hint about 802.1Q', async () => {
    const d = await setup().backend.describe();
    expect(d.ok).toBe(false);
    expect(d.problems.map((p) => p.code)).toEqual(['LINK_MISSING']);
    expect(d.problems[0]?.hint).toContain('modprobe 8021q');
  });

  it('reports a wrong VLAN id, a down link, an MTU mismatch and a down uplink', async () => {
    const other = fixtureLink('vlan-eth0.200-down.json');
    (other.linkinfo as { info_data: { id: number } }).info_data.id = 300;
    const uplink = { ...fixtureLink('veth-eth0-up.json'), flags: ['BROADCAST', 'MULTICAST'], operstate: 'DOWN' };
    const node = new FakeIpNode().withLink(uplink).withLink(other);
    const d = await setup({ mtu: 1400 }, node).backend.describe();
    expect(d.problems.map((p) => p.code)).toEqual(['UPLINK_DOWN', 'LINK_DOWN', 'MTU_MISMATCH', 'VLAN_ID_MISMATCH']);
    expect(d.vlanId).toBe(300);
    expect(node.changes()).toEqual([]);
  });

  it('reports a same-named link of another kind', async () => {
    const node = new FakeIpNode().withUplink().withLink({ ...fixtureLink('veth-eth0-up.json'), ifname: 'eth0.200' });
    const d = await setup({}, node).backend.describe();
    expect(d.kindMatches).toBe(false);
    expect(d.actualKind).toBe('veth');
    expect(d.problems.map((p) => p.code)).toContain('KIND_MISMATCH');
  });
});

describe('unsupportedLinkKind', () => {
  it('recognises the raw ip error and IpRoute2’s LINK_KIND_UNSUPPORTED, nothing else', () => {
    const raw = new CommandError({
      command: 'ip link add link eth0 name eth0.200 type vlan protocol 802.1Q id 200',
      exitCode: 2,
      stdout: '',
      stderr: 'Error: Unknown device type.\n',
      timedOut: false,
      isCanceled: false,
      notFound: false,
      durationMs: 1,
    });
    expect(unsupportedLinkKind(raw)).toEqual({ command: raw.command, stderr: 'Error: Unknown device type.' });
    const mapped = new ClusterLabError('LINK_KIND_UNSUPPORTED', 'this kernel cannot create vlan links', { cause: raw });
    expect(unsupportedLinkKind(mapped)).toEqual({ command: raw.command, stderr: 'Error: Unknown device type.' });
    expect(unsupportedLinkKind(new ClusterLabError('LINK_EXISTS', 'x'))).toBeUndefined();
    expect(unsupportedLinkKind(new Error('Unknown device type'))).toBeUndefined();
  });
});
