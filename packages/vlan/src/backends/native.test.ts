import { IpRoute2 } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { FakeIpNode, fixtureLink } from '../testing/fake-ip-node.js';
import { uplinkState } from '../testing/uplink-state.js';
import { BackendError } from './backend-error.js';
import { NativeBackend } from './native.js';

const down = (name: string) => ({
  ...fixtureLink('veth-eth0-up.json'),
  ifname: name,
  flags: ['BROADCAST', 'MULTICAST'],
  operstate: 'DOWN',
});

function setup(node: FakeIpNode, nic = 'eth1', mtu?: number) {
  const network = new IpRoute2(node.runner);
  return { network, backend: new NativeBackend({ nic, ...(mtu ? { mtu } : {}) }, { network, runner: node.runner }) };
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

describe('NativeBackend', () => {
  it('uses an up NIC as-is: reads it, changes nothing, reports its addresses', async () => {
    const node = new FakeIpNode().withUplink('eth1');
    const { backend } = setup(node);
    const result = await backend.ensure();
    expect(node.commands()).toEqual(['ip -j -d link show dev eth1', 'ip -j address show dev eth1']);
    expect(result).toEqual({
      link: { name: 'eth1', mac: fixtureLink('veth-eth0-up.json').address, mtu: 1500, up: true, addresses: ['10.99.0.11/24'] },
      created: false,
      broughtUp: false,
    });
    expect(await backend.teardown(result)).toBe(false);
    expect(node.changes()).toEqual([]);
  });

  it('brings a down NIC up and teardown sets it down again, once', async () => {
    const node = new FakeIpNode().withLink(down('eth1'));
    const { backend } = setup(node);
    const result = await backend.ensure();
    expect(result).toMatchObject({ created: false, broughtUp: true, link: { up: true } });
    expect(await backend.teardown(result)).toBe(true);
    expect(await backend.teardown(result)).toBe(false);
    expect(node.changes()).toEqual(['ip link set dev eth1 up', 'ip link set dev eth1 down']);
    expect(node.links.has('eth1')).toBe(true);
  });

  it('is idempotent: a second ensure changes nothing and reports broughtUp=false', async () => {
    const node = new FakeIpNode().withLink(down('eth1'));
    const { backend } = setup(node);
    await backend.ensure();
    const second = await backend.ensure();
    expect(second.broughtUp).toBe(false);
    expect(node.changes()).toEqual(['ip link set dev eth1 up']);
    // the instance still remembers the first ensure brought it up
    expect(await backend.teardown()).toBe(true);
  });

  it('never deletes the NIC, even when told created=true', async () => {
    const node = new FakeIpNode().withUplink('eth1');
    const { backend } = setup(node);
    expect(await backend.teardown({ created: true, broughtUp: false })).toBe(false);
    expect(node.changes()).toEqual([]);
  });

  it('leaves the NIC addresses and routes as they were', async () => {
    const node = new FakeIpNode().withUplink('eth1');
    const { backend, network } = setup(node);
    const before = await uplinkState(network, 'eth1');
    await backend.teardown(await backend.ensure());
    expect(await uplinkState(network, 'eth1')).toEqual(before);
  });

  it('a missing NIC → CLUSTER_NIC_NOT_FOUND listing the available NICs', async () => {
    const node = new FakeIpNode().withUplink('eth0').withLink(down('wlan0'));
    const error = await caught(() => setup(node, 'eth1').backend.ensure());
    expect(error.code).toBe('CLUSTER_NIC_NOT_FOUND');
    expect(error.message).toBe('cluster NIC "eth1" does not exist; available: eth0, wlan0');
    expect(error.hint).toBe('set `interface` to one of: eth0, wlan0');
    expect(error.errorClass).toBe('config');
  });

  it.each(['lo', 'eth 1', 'eth/1', 'a-very-long-nic-name'])('NIC %j → INVALID_INTERFACE_NAME', async (nic) => {
    const error = await caught(() => setup(new FakeIpNode(), nic));
    expect(error.code).toBe('INVALID_INTERFACE_NAME');
  });

  it('describe reports a healthy NIC, then no carrier and an MTU mismatch', async () => {
    const node = new FakeIpNode().withUplink('eth1');
    expect(await setup(node).backend.describe()).toMatchObject({
      kind: 'native',
      name: 'eth1',
      exists: true,
      up: true,
      kindMatches: true,
      ok: true,
    });
    const link = node.links.get('eth1');
    if (link) link.operstate = 'LOWERLAYERDOWN';
    const d = await setup(node, 'eth1', 9000).backend.describe();
    expect(d.problems.map((p) => p.code)).toEqual(['NO_CARRIER', 'MTU_MISMATCH']);
    expect(d.problems[0]?.hint).toContain('cable');
  });

  it('describe of a missing NIC lists the alternatives', async () => {
    const d = await setup(new FakeIpNode().withUplink('eth0'), 'eth1').backend.describe();
    expect(d.exists).toBe(false);
    expect(d.problems).toEqual([
      { code: 'LINK_MISSING', message: 'cluster link "eth1" does not exist', hint: 'set `interface` to an existing NIC (one of: eth0)' },
    ]);
  });
});
