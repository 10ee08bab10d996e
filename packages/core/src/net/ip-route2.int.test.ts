import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecaRunner } from '../command/execa-runner.js';
import { skipUnlessRoot, uniqueSuffix } from '../testing/root.js';
import { LinkExistsError, LinkNotFoundError, NetnsNotFoundError } from './errors.js';
import { IpRoute2 } from './ip-route2.js';

// Runs IpRoute2 against the real kernel inside two namespaces this test creates and removes.
// Nothing here touches the host namespace's links.
describe.skipIf(skipUnlessRoot())('IpRoute2 against a real network namespace', () => {
  const runner = new ExecaRunner();
  const suffix = uniqueSuffix();
  const nsA = `cl-core-a-${suffix}`;
  const nsB = `cl-core-b-${suffix}`;
  const ip = new IpRoute2(runner);
  const a = ip.in(nsA);
  const b = ip.in(nsB);

  beforeAll(async () => {
    await runner.run('ip', ['netns', 'add', nsA]);
    await runner.run('ip', ['netns', 'add', nsB]);
  });

  afterAll(async () => {
    // Deleting the namespaces removes every link the test left in them.
    await runner.run('ip', ['netns', 'del', nsA], { reject: false });
    await runner.run('ip', ['netns', 'del', nsB], { reject: false });
  });

  it('starts with only a loopback link', async () => {
    const links = await a.listLinks();
    expect(links.map((l) => l.name)).toEqual(['lo']);
    expect(await a.routes()).toEqual([]);
  });

  it('creates a veth pair and a bridge, enslaves, sets up and addresses them', async () => {
    await a.addLink({ kind: 'bridge', name: 'br0' });
    await a.addLink({ kind: 'veth', name: 'v0', peer: 'v1', mtu: 1400 });
    await a.setMaster('v1', 'br0');
    for (const name of ['br0', 'v0', 'v1']) await a.setUp(name);
    expect(await a.addAddress('v0', '192.168.200.1/24')).toBe(true);
    expect(await a.addAddress('v0', '192.168.200.1/24')).toBe(false);
    expect(await a.addAddress('br0', '10.9.0.1/16')).toBe(true);

    const v0 = await a.requireLink('v0');
    expect(v0).toMatchObject({ kind: 'veth', parent: 'v1', mtu: 1400, up: true });
    expect(v0.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(await a.getLink('v1')).toMatchObject({ kind: 'veth', parent: 'v0', master: 'br0' });
    expect(await a.getLink('br0')).toMatchObject({ kind: 'bridge', up: true });
    expect((await a.listAddresses('v0')).filter((x) => x.family === 'inet').map((x) => x.cidr)).toEqual(['192.168.200.1/24']);
    const routes = await a.routes();
    expect(routes).toContainEqual({ dst: '192.168.200.0/24', dev: 'v0', protocol: 'kernel', scope: 'link', prefsrc: '192.168.200.1' });
    expect(routes.map((r) => r.dst)).toContain('10.9.0.0/16');

    expect(await a.delAddress('v0', '192.168.200.1/24')).toBe(true);
    expect(await a.delAddress('v0', '192.168.200.1/24')).toBe(false);
  });

  it('creates VXLAN links with and without an underlay device', async () => {
    await a.addLink({ kind: 'vxlan', name: 'vx200', vni: 200, port: 4790, dev: 'v0', group: '239.1.1.200' });
    await a.addLink({ kind: 'vxlan', name: 'vx201', vni: 201, port: 4791, local: '10.9.0.1', learning: false });
    expect(await a.getLink('vx200')).toMatchObject({
      kind: 'vxlan',
      parent: 'v0',
      mtu: 1350, // 1400 on v0 minus 50 bytes of VXLAN encapsulation
      vxlan: { vni: 200, port: 4790, group: '239.1.1.200', dev: 'v0', learning: true },
    });
    expect(await a.getLink('vx201')).toMatchObject({ kind: 'vxlan', vxlan: { vni: 201, port: 4791, local: '10.9.0.1', learning: false } });
    await a.setMtu('vx201', 1400);
    expect((await a.requireLink('vx201')).mtu).toBe(1400);
  });

  it('renames a link, and refuses a taken name', async () => {
    await a.addLink({ kind: 'veth', name: 'r0', peer: 'r1' });
    await a.rename('r0', 'renamed0');
    expect(await a.getLink('r0')).toBeUndefined();
    expect(await a.getLink('renamed0')).toMatchObject({ parent: 'r1' });
    expect(await a.getLink('r1')).toMatchObject({ parent: 'renamed0' });
    await expect(a.rename('renamed0', 'v0')).rejects.toBeInstanceOf(LinkExistsError);
    await expect(a.addLink({ kind: 'bridge', name: 'br0' })).rejects.toMatchObject({ constructor: LinkExistsError, link: 'br0' });
    await expect(a.addLink({ kind: 'veth', name: 'fresh0', peer: 'br0' })).rejects.toMatchObject({
      constructor: LinkExistsError,
      link: 'br0',
    });
  });

  it('moves a link into another namespace, and creates a veth peer there directly', async () => {
    await a.addLink({ kind: 'veth', name: 'm0', peer: 'm1' });
    await a.setNetns('m1', nsB);
    expect(await a.getLink('m1')).toBeUndefined();
    const moved = await b.requireLink('m1');
    expect(moved).toMatchObject({ kind: 'veth', up: false });
    // Seen from A, the peer now lives elsewhere: only its index is known.
    expect(await a.getLink('m0')).toMatchObject({ parentIndex: moved.index });

    await a.addLink({ kind: 'veth', name: 'p0', peer: 'eth0', peerNetns: nsB });
    expect(await b.getLink('eth0')).toMatchObject({ kind: 'veth' });
    await b.setUp('eth0');
    expect(await b.addAddress('eth0', '192.168.200.2/24')).toBe(true);
    expect((await b.listAddresses('eth0')).some((x) => x.cidr === '192.168.200.2/24')).toBe(true);
  });

  it('deleting an absent link returns false; operations on a missing link throw LinkNotFoundError', async () => {
    expect(await a.delLink('renamed0')).toBe(true);
    expect(await a.delLink('renamed0')).toBe(false);
    expect(await a.getLink('renamed0')).toBeUndefined();
    await expect(a.setUp('nosuch0')).rejects.toMatchObject({ constructor: LinkNotFoundError, link: 'nosuch0' });
    await expect(a.setMaster('v0', 'nosuch0')).rejects.toMatchObject({ constructor: LinkNotFoundError, link: 'nosuch0' });
    await expect(a.listAddresses('nosuch0')).rejects.toBeInstanceOf(LinkNotFoundError);
    await expect(a.addAddress('nosuch0', '10.0.0.1/24')).rejects.toBeInstanceOf(LinkNotFoundError);
    expect(await a.delAddress('nosuch0', '10.0.0.1/24')).toBe(false);
    await expect(a.addLink({ kind: 'vxlan', name: 'vx9', vni: 9, port: 4790, dev: 'nosuch0' })).rejects.toMatchObject({
      constructor: LinkNotFoundError,
      link: 'nosuch0',
    });
    const missing = await a.requireLink('nosuch0').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(LinkNotFoundError);
    expect((missing as LinkNotFoundError).message).toBe(`network interface "nosuch0" does not exist in namespace ${nsA}`);
    expect((missing as LinkNotFoundError).hint).toMatch(/^use one of: .*br0.*v0/);
    await expect(a.setMaster('v0', 'vx201')).rejects.toMatchObject({ code: 'NOT_A_BRIDGE' });
  });

  it('reports a missing namespace as NetnsNotFoundError', async () => {
    await expect(ip.in(`cl-core-gone-${suffix}`).listLinks()).rejects.toBeInstanceOf(NetnsNotFoundError);
    await expect(a.setNetns('v0', `cl-core-gone-${suffix}`)).rejects.toBeInstanceOf(NetnsNotFoundError);
  });

  it('tells that this kernel lacks 802.1Q, or creates the VLAN where it has it', async () => {
    const result = await a.addLink({ kind: 'vlan', name: 'v0.200', parent: 'v0', id: 200 }).then(
      () => 'created',
      (e: unknown) => e,
    );
    if (result === 'created') {
      expect(await a.getLink('v0.200')).toMatchObject({ kind: 'vlan', parent: 'v0', vlan: { id: 200 } });
    } else {
      expect(result).toMatchObject({ code: 'LINK_KIND_UNSUPPORTED', errorClass: 'dependency' });
    }
  });

  it('deletes a parent with its stacked VXLAN', async () => {
    expect(await a.delLink('v0')).toBe(true);
    expect(await a.getLink('v1')).toBeUndefined();
    expect(await a.getLink('vx200')).toBeUndefined();
    expect(await a.getLink('vx201')).toBeDefined();
  });
});
