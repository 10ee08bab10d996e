import { IpRoute2 } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { BackendError } from '../backends/backend-error.js';
import { VlanBackend } from '../backends/vlan.js';
import { FakeIpNode, fixture, fixtureLink } from '../testing/fake-ip-node.js';
import { addProbeAddress, pingAddress, probeLink, unreachableHint } from './probe-link.js';

function pingReply(name: 'ping-ok.txt' | 'ping-fail.txt') {
  const text = fixture(name);
  const exitCode = Number(/exit (\d+)\s*$/.exec(text)?.[1]);
  return { stdout: text.replace(/exit \d+\s*$/, ''), exitCode };
}

/** A node with an up cluster link vx200 (the captured vxlan fixture). */
function clusterNode() {
  const node = new FakeIpNode().withUplink().withLink(fixtureLink('vxlan-group-up.json'));
  return { node, probe: { network: new IpRoute2(node.runner), runner: node.runner, link: 'vx200' } };
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

describe('probeLink', () => {
  it('adds temporary addresses on both nodes, pings over the cluster link, removes them', async () => {
    const a = clusterNode();
    const b = clusterNode();
    a.node.runner.on('ping', () => true, pingReply('ping-ok.txt'));
    const result = await probeLink({ local: a.probe, peer: b.probe, backend: 'vxlan' });
    expect(result).toMatchObject({ reachable: true, link: 'vx200', from: '198.18.200.2', to: '198.18.200.1', attempts: 1, rttMs: 0.2 });
    expect(result.detail).toBe('198.18.200.1 answered over vx200 in 0.2 ms');
    expect(result.hint).toBeUndefined();
    expect(b.node.changes()).toEqual(['ip address add 198.18.200.1/24 dev vx200', 'ip address del 198.18.200.1/24 dev vx200']);
    expect(a.node.changes()).toEqual(['ip address add 198.18.200.2/24 dev vx200', 'ip address del 198.18.200.2/24 dev vx200']);
    expect(a.node.commands()).toContain('ping -n -c1 -W1 -I vx200 198.18.200.1');
    expect(a.node.addrs.get('vx200') ?? []).toEqual([]);
    expect(b.node.addrs.get('vx200') ?? []).toEqual([]);
  });

  it('reports unreachable after every attempt with a backend-specific hint, and still cleans up', async () => {
    const a = clusterNode();
    const b = clusterNode();
    a.node.runner.on('ping', () => true, pingReply('ping-fail.txt'));
    const uplink = a.probe.network;
    const backend = new VlanBackend({ uplink: 'eth0', id: 200 }, { network: uplink, runner: a.node.runner });
    const result = await probeLink({ local: a.probe, peer: b.probe, backend, attempts: 2 });
    expect(result).toMatchObject({ reachable: false, attempts: 2, detail: '198.18.200.1 did not answer over vx200 (2 pings)' });
    expect(result.hint).toContain('802.1Q-tagged frames');
    expect(result.hint).toContain('VLAN 200');
    expect(result.hint).toContain('vxlan');
    expect(a.node.commands().filter((c) => c.startsWith('ping'))).toHaveLength(2);
    expect(a.node.addrs.get('vx200') ?? []).toEqual([]);
    expect(b.node.addrs.get('vx200') ?? []).toEqual([]);
  });

  it('with only the peer’s address (the other machine listens) prepares just this node', async () => {
    const a = clusterNode();
    a.node.runner.on('ping', () => true, pingReply('ping-ok.txt'));
    const result = await probeLink({ local: a.probe, peer: { address: '198.18.200.1' } });
    expect(result.reachable).toBe(true);
    expect(a.node.changes()).toEqual(['ip address add 198.18.200.2/24 dev vx200', 'ip address del 198.18.200.2/24 dev vx200']);
  });

  it('a missing ping → PING_NOT_FOUND, temporary addresses removed', async () => {
    const a = clusterNode();
    const b = clusterNode();
    a.node.runner.on('ping', () => true, { notFound: true });
    const error = await caught(() => probeLink({ local: a.probe, peer: b.probe }));
    expect(error.code).toBe('PING_NOT_FOUND');
    expect(error.hint).toContain('iputils-ping');
    expect(error.errorClass).toBe('dependency');
    expect(a.node.addrs.get('vx200') ?? []).toEqual([]);
    expect(b.node.addrs.get('vx200') ?? []).toEqual([]);
  });

  it('a peer whose link is down → PROBE_LINK_DOWN, and the local node is left untouched', async () => {
    const a = clusterNode();
    const b = clusterNode();
    const link = b.node.links.get('vx200');
    if (link) link.flags = ['BROADCAST', 'MULTICAST'];
    const error = await caught(() => probeLink({ local: a.probe, peer: b.probe }));
    expect(error.code).toBe('PROBE_LINK_DOWN');
    expect(a.node.changes()).toEqual([]);
    expect(b.node.changes()).toEqual([]);
  });

  it.each([
    ['198.18.200.2', 'add the prefix length, e.g. 198.18.200.2/24'],
    ['198.18.200.2/33', 'the prefix length 33 is over 32'],
    ['198.18.300.2/24', '"198.18.300.2" is not a dotted IPv4 address (four numbers 0–255)'],
    ['198.18.200.2/2x', 'the prefix length "2x" must be a number 0–32'],
  ])('CIDR typo %j → INVALID_ADDRESS with hint %j', async (localAddress, hint) => {
    const a = clusterNode();
    const error = await caught(() => probeLink({ local: a.probe, peer: { address: '198.18.200.1' }, localAddress }));
    expect(error.code).toBe('INVALID_ADDRESS');
    expect(error.message).toBe(`local probe address ${JSON.stringify(localAddress)} is not an IPv4 CIDR`);
    expect(error.hint).toBe(hint);
    expect(a.node.commands()).toEqual([]);
  });

  it('a peer address outside the local probe subnet → INVALID_ADDRESS', async () => {
    const error = await caught(() => probeLink({ local: clusterNode().probe, peer: { address: '10.10.10.1' } }));
    expect(error.code).toBe('INVALID_ADDRESS');
    expect(error.message).toBe('peer probe address 10.10.10.1 must be another address in the local probe subnet 198.18.200.2/24');
  });
});

describe('addProbeAddress', () => {
  it('refuses an address already on another link (PROBE_ADDRESS_IN_USE)', async () => {
    const { probe, node } = clusterNode();
    const error = await caught(() => addProbeAddress(probe, '10.99.0.11/24'));
    expect(error.code).toBe('PROBE_ADDRESS_IN_USE');
    expect(error.message).toBe('probe address 10.99.0.11 is already on "eth0"');
    expect(node.changes()).toEqual([]);
  });

  it('refuses a subnet routed via another link, so the uplink routes stay intact', async () => {
    const { probe, node } = clusterNode();
    const error = await caught(() => addProbeAddress(probe, '10.99.0.200/24'));
    expect(error.code).toBe('PROBE_ADDRESS_IN_USE');
    expect(error.message).toBe('probe subnet 10.99.0.0/24 is already routed via "eth0"');
    expect(node.changes()).toEqual([]);
  });

  it('leaves an address that was already there in place; release is idempotent', async () => {
    const { probe, node } = clusterNode();
    node.addrs.set('vx200', [{ family: 'inet', local: '198.18.200.1', prefixlen: 24, scope: 'global' }]);
    const existing = await addProbeAddress(probe, '198.18.200.1/24');
    expect(existing.added).toBe(false);
    expect(await existing.release()).toBe(false);
    node.addrs.set('vx200', []);
    {
      await using fresh = await addProbeAddress(probe, '198.18.200.1/24');
      expect(fresh.added).toBe(true);
      expect(node.addrs.get('vx200')).toHaveLength(1);
    }
    expect(node.addrs.get('vx200')).toEqual([]);
    expect(node.changes()).toEqual(['ip address add 198.18.200.1/24 dev vx200', 'ip address del 198.18.200.1/24 dev vx200']);
  });

  it('a missing link → PROBE_LINK_MISSING', async () => {
    const node = new FakeIpNode().withUplink();
    const error = await caught(() => addProbeAddress({ network: new IpRoute2(node.runner), link: 'vx200' }, '198.18.200.1/24'));
    expect(error.code).toBe('PROBE_LINK_MISSING');
  });
});

describe('pingAddress', () => {
  it('retries after a lost reply, stops at the first answer and parses the round-trip time', async () => {
    const { node } = clusterNode();
    // FakeRunner answers with the latest matching entry first: the failure, then the reply
    node.runner.once('ping', () => true, pingReply('ping-ok.txt'));
    node.runner.once('ping', () => true, pingReply('ping-fail.txt'));
    const result = await pingAddress({ runner: node.runner, target: '10.99.0.12', link: 'eth0', timeoutSeconds: 2, attempts: 5 });
    expect(result).toMatchObject({ reachable: true, attempts: 2, rttMs: 0.2 });
    expect(node.commands()).toEqual(['ping -n -c1 -W2 -I eth0 10.99.0.12', 'ping -n -c1 -W2 -I eth0 10.99.0.12']);
  });

  it('rejects a target that is not an IPv4 address', async () => {
    const error = await caught(() => pingAddress({ runner: clusterNode().node.runner, target: '10.99.0.12/24' }));
    expect(error.code).toBe('INVALID_ADDRESS');
  });
});

describe('unreachableHint', () => {
  it('names what to try for each backend', () => {
    expect(unreachableHint('vxlan')).toContain('UDP port 4790');
    expect(unreachableHint('native')).toContain('cable');
    expect(unreachableHint(undefined)).toContain('same backend settings');
  });
});
