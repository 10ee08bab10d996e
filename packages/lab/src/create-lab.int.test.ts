import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab } from './create-lab.js';
import type { Lab } from './lab.js';

describe.skipIf(skipUnlessRoot())('createLab without docker (real namespaces)', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ name: 'labnet', nodes: 3, router: true, clusterNic: true });
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('gives every node its own hostname', async () => {
    const names = await Promise.all(lab.nodes.map(async (n) => (await n.exec('hostname', [])).stdout.trim()));
    expect(names).toEqual(['node1', 'node2', 'node3']);
    expect((await lab.router?.exec('hostname', []))?.stdout.trim()).toBe('router');
  });

  it('puts eth0 (with the LAN address) and eth1 in each node', async () => {
    for (const node of lab.nodes) {
      const links = await node.ip.listLinks();
      expect(links.map((l) => l.name).sort()).toEqual(['eth0', 'eth1', 'lo']);
      expect(links.find((l) => l.name === 'eth0')?.mac).toBe(node.mac);
      expect(links.find((l) => l.name === 'eth1')?.mac).toBe(node.clusterNicMac);
      const addresses = await node.ip.listAddresses('eth0');
      expect(addresses.filter((a) => a.family === 'inet').map((a) => a.cidr)).toEqual([`${node.lanAddress}/24`]);
    }
  });

  it('lets nodes reach each other and the router over the switch', async () => {
    const [n1, n2, n3] = lab.nodes;
    await n1?.exec('ping', ['-c1', '-W2', n2?.lanAddress ?? '']);
    await n3?.exec('ping', ['-c1', '-W2', n1?.lanAddress ?? '']);
    await n2?.exec('ping', ['-c1', '-W2', lab.router?.address ?? '']);
  });
});
