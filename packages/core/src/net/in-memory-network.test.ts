import { describe, expect, it } from 'vitest';
import { LinkExistsError, LinkNotFoundError, NetnsNotFoundError } from './errors.js';
import { InMemoryNetwork } from './in-memory-network.js';

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

const names = async (net: InMemoryNetwork) => (await net.listLinks()).map((l) => l.name).sort();

describe('InMemoryNetwork', () => {
  it('creates physical-looking links for setup, up with LOWER_UP', async () => {
    const net = new InMemoryNetwork().withLink('eth0', { mac: '02:00:00:00:00:01' }).withLink('eth1', { up: false });
    expect(await net.requireLink('eth0')).toMatchObject({ name: 'eth0', up: true, operState: 'UP', mac: '02:00:00:00:00:01', mtu: 1500 });
    expect((await net.getLink('eth0'))?.kind).toBeUndefined();
    expect(await net.getLink('eth1')).toMatchObject({ up: false, operState: 'DOWN', flags: ['BROADCAST', 'MULTICAST'] });
    expect(await net.getLink('eth9')).toBeUndefined();
  });

  it('refuses duplicate names, like the kernel (EEXIST)', async () => {
    const net = new InMemoryNetwork().withLink('eth0');
    await net.addLink({ kind: 'bridge', name: 'br0' });
    expect(await errorOf(net.addLink({ kind: 'bridge', name: 'br0' }))).toMatchObject({ constructor: LinkExistsError, link: 'br0' });
    expect(await errorOf(net.addLink({ kind: 'veth', name: 'v0', peer: 'eth0' }))).toMatchObject({
      constructor: LinkExistsError,
      link: 'eth0',
    });
    expect(await errorOf(net.addLink({ kind: 'veth', name: 'v0', peer: 'v0' }))).toBeInstanceOf(LinkExistsError);
    expect(await names(net)).toEqual(['br0', 'eth0']);
  });

  it('creates veth pairs whose ends name each other and die together', async () => {
    const net = new InMemoryNetwork();
    await net.addLink({ kind: 'veth', name: 'v0', peer: 'v1' });
    expect(await net.getLink('v0')).toMatchObject({ kind: 'veth', parent: 'v1', up: false });
    expect(await net.getLink('v1')).toMatchObject({ kind: 'veth', parent: 'v0' });
    await net.addAddress('v1', '10.0.0.2/24');
    expect(await net.delLink('v0')).toBe(true);
    expect(await names(net)).toEqual([]);
    expect(await net.listAddresses()).toEqual([]);
  });

  it('needs the peer namespace to exist, then puts the peer there', async () => {
    const net = new InMemoryNetwork();
    expect(await errorOf(net.addLink({ kind: 'veth', name: 'h1', peer: 'eth0', peerNetns: 'node1' }))).toMatchObject({
      constructor: NetnsNotFoundError,
      netns: 'node1',
    });
    net.withNetns('node1');
    // Same name on both ends is fine when they live in different namespaces.
    await net.addLink({ kind: 'veth', name: 'eth0', peer: 'eth0', peerNetns: 'node1' });
    expect(await names(net)).toEqual(['eth0']);
    expect(await names(net.in('node1'))).toEqual(['eth0']);
    expect(net.namespaces()).toEqual(['node1']);
    await net.delLink('eth0');
    expect(await names(net.in('node1'))).toEqual([]);
  });

  it('needs an existing parent for a VLAN and a VXLAN, and deletes them with it', async () => {
    const net = new InMemoryNetwork().withLink('eth0');
    expect(await errorOf(net.addLink({ kind: 'vlan', name: 'eth1.200', parent: 'eth1', id: 200 }))).toMatchObject({
      constructor: LinkNotFoundError,
      link: 'eth1',
    });
    expect(await errorOf(net.addLink({ kind: 'vxlan', name: 'vx200', vni: 200, port: 4790, dev: 'eth1' }))).toBeInstanceOf(
      LinkNotFoundError,
    );
    await net.addLink({ kind: 'vlan', name: 'eth0.200', parent: 'eth0', id: 200 });
    await net.addLink({ kind: 'vxlan', name: 'vx200', vni: 200, port: 4790, dev: 'eth0', group: '239.1.1.200' });
    await net.addLink({ kind: 'vxlan', name: 'vx201', vni: 201, port: 4791, local: '10.0.0.1', learning: false });
    expect(await net.getLink('eth0.200')).toMatchObject({ kind: 'vlan', parent: 'eth0', vlan: { id: 200, protocol: '802.1Q' }, mtu: 1500 });
    expect(await net.getLink('vx200')).toMatchObject({
      kind: 'vxlan',
      parent: 'eth0',
      mtu: 1450,
      vxlan: { vni: 200, port: 4790, group: '239.1.1.200', dev: 'eth0', learning: true },
    });
    expect(await net.getLink('vx201')).toMatchObject({ vxlan: { vni: 201, port: 4791, local: '10.0.0.1', learning: false } });
    await net.delLink('eth0');
    expect(await names(net)).toEqual(['vx201']);
  });

  it('validates specs like the real wrapper', async () => {
    const net = new InMemoryNetwork().withLink('eth0');
    await expect(net.addLink({ kind: 'vlan', name: 'eth0.4095', parent: 'eth0', id: 4095 })).rejects.toThrow(
      'VLAN id 4095 must be between 1 and 4094',
    );
    await expect(net.addLink({ kind: 'bridge', name: 'bridge-with-long-name' })).rejects.toThrow('is 21 characters long');
    await expect(net.setMtu('eth0', 20)).rejects.toThrow('MTU 20 must be a whole number between 68 and 65535');
  });

  it('needs a link for addresses and adds each address once', async () => {
    const net = new InMemoryNetwork().withLink('eth0');
    expect(await errorOf(net.addAddress('eth9', '10.0.0.1/24'))).toMatchObject({
      constructor: LinkNotFoundError,
      link: 'eth9',
      hint: 'use one of: eth0',
    });
    expect(await errorOf(net.listAddresses('eth9'))).toBeInstanceOf(LinkNotFoundError);
    expect(await net.addAddress('eth0', '192.168.200.1/24')).toBe(true);
    expect(await net.addAddress('eth0', '192.168.200.1/24')).toBe(false);
    expect(await net.listAddresses('eth0')).toEqual([
      { dev: 'eth0', family: 'inet', local: '192.168.200.1', prefixlen: 24, cidr: '192.168.200.1/24', scope: 'global', dynamic: false },
    ]);
    expect(await net.delAddress('eth0', '192.168.200.1/24')).toBe(true);
    expect(await net.delAddress('eth0', '192.168.200.1/24')).toBe(false);
    expect(await net.delAddress('eth9', '192.168.200.1/24')).toBe(false);
    await expect(net.addAddress('eth0', '192.168.200.1')).rejects.toThrow('must be an IPv4 CIDR');
  });

  it('sets links up and down, and reports connected routes only for up links', async () => {
    const net = new InMemoryNetwork().withLink('eth0').withRoute({ dst: 'default', gateway: '192.168.1.1', dev: 'eth0' });
    await net.addLink({ kind: 'bridge', name: 'br0' });
    await net.addAddress('br0', '10.9.0.1/16');
    await net.addAddress('eth0', '192.168.1.10/24');
    expect(await net.routes()).toEqual([
      { dst: 'default', gateway: '192.168.1.1', dev: 'eth0' },
      { dst: '192.168.1.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '192.168.1.10' },
    ]);
    await net.setUp('br0');
    expect(await net.getLink('br0')).toMatchObject({ up: true, operState: 'UP' });
    expect((await net.routes()).map((r) => r.dst)).toContain('10.9.0.0/16');
    await net.setDown('br0');
    expect(await net.getLink('br0')).toMatchObject({ up: false, operState: 'DOWN' });
    expect((await net.getLink('br0'))?.flags).not.toContain('UP');
    await expect(net.setUp('gone0')).rejects.toBeInstanceOf(LinkNotFoundError);
  });

  it('renames only a down link to a free name, and references follow', async () => {
    const net = new InMemoryNetwork();
    await net.addLink({ kind: 'bridge', name: 'br0' });
    await net.addLink({ kind: 'veth', name: 'v0', peer: 'v1' });
    await net.setMaster('v1', 'br0');
    await net.addAddress('br0', '10.0.0.1/24');
    await net.addLink({ kind: 'vxlan', name: 'vx9', vni: 9, port: 4790, dev: 'v0' });
    await net.setUp('br0');
    expect(await errorOf(net.rename('br0', 'sw0'))).toMatchObject({ code: 'LINK_BUSY' });
    await net.setDown('br0');
    expect(await errorOf(net.rename('br0', 'v0'))).toMatchObject({ constructor: LinkExistsError, link: 'v0' });
    await net.rename('br0', 'sw0');
    await net.rename('v0', 'eth0');
    expect(await net.getLink('br0')).toBeUndefined();
    expect(await net.getLink('v1')).toMatchObject({ master: 'sw0', parent: 'eth0' });
    expect(await net.getLink('vx9')).toMatchObject({ parent: 'eth0', vxlan: { dev: 'eth0' } });
    expect((await net.listAddresses('sw0')).map((a) => a.cidr)).toEqual(['10.0.0.1/24']);
  });

  it('enslaves only to bridges, and deleting a bridge releases its ports', async () => {
    const net = new InMemoryNetwork().withLink('eth0');
    await net.addLink({ kind: 'bridge', name: 'br0' });
    expect(await errorOf(net.setMaster('eth0', 'br9'))).toMatchObject({ constructor: LinkNotFoundError, link: 'br9' });
    expect(await errorOf(net.setMaster('br0', 'eth0'))).toMatchObject({ code: 'NOT_A_BRIDGE' });
    expect(await errorOf(net.setMaster('br0', 'br0'))).toMatchObject({ code: 'NOT_A_BRIDGE' });
    await net.setMaster('eth0', 'br0');
    expect((await net.getLink('eth0'))?.master).toBe('br0');
    await net.delLink('br0');
    expect((await net.getLink('eth0'))?.master).toBeUndefined();
  });

  it('moves links between namespaces: down, without addresses or master', async () => {
    const net = new InMemoryNetwork();
    await net.addLink({ kind: 'bridge', name: 'br0' });
    await net.addLink({ kind: 'veth', name: 'h1', peer: 'n1' });
    await net.setMaster('n1', 'br0');
    await net.addAddress('n1', '10.0.0.2/24');
    await net.setUp('n1');
    expect(await errorOf(net.setNetns('n1', 'node1'))).toMatchObject({ constructor: NetnsNotFoundError, netns: 'node1' });
    net.withNetns('node1');
    await net.setNetns('n1', 'node1');
    const node1 = net.in('node1');
    expect(node1.netns).toBe('node1');
    expect(await node1.getLink('n1')).toMatchObject({ up: false, operState: 'DOWN', parent: 'h1' });
    expect((await node1.getLink('n1'))?.master).toBeUndefined();
    expect((await node1.getLink('n1'))?.flags).not.toContain('UP');
    expect(await node1.listAddresses()).toEqual([]);
    expect(await net.getLink('n1')).toBeUndefined();
    await node1.rename('n1', 'eth0');
    expect(await net.getLink('h1')).toMatchObject({ parent: 'eth0' });
    // Deleting one end removes the other, across namespaces.
    await net.delLink('h1');
    expect(await node1.getLink('eth0')).toBeUndefined();
  });

  it('keeps namespaces apart and validates namespace names', async () => {
    const net = new InMemoryNetwork().withLink('eth0');
    await net.in('node1').addLink({ kind: 'bridge', name: 'eth0' });
    expect(await names(net)).toEqual(['eth0']);
    expect((await net.in('node1').getLink('eth0'))?.kind).toBe('bridge');
    expect(() => net.in('a/b')).toThrow('network namespace name "a/b"');
    expect(net.in(undefined).netns).toBeUndefined();
  });

  it('returns copies, so callers cannot change the world by accident', async () => {
    const net = new InMemoryNetwork().withLink('eth0');
    const link = await net.requireLink('eth0');
    link.mtu = 9000;
    link.flags.push('X');
    expect(await net.requireLink('eth0')).toMatchObject({ mtu: 1500 });
    expect((await net.requireLink('eth0')).flags).not.toContain('X');
  });

  it('gives new links distinct MACs', async () => {
    const net = new InMemoryNetwork();
    await net.addLink({ kind: 'veth', name: 'a', peer: 'b' });
    const [a, b] = await net.listLinks();
    expect(a?.mac).toMatch(/^02:00:00:00:[0-9a-f]{2}:[0-9a-f]{2}$/);
    expect(a?.mac).not.toBe(b?.mac);
  });
});
