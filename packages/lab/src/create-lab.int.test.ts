import { ExecaRunner, parseAddresses } from '@cluster-lab/core';
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

  it('cannot reach addresses outside the lab: a node has no route to the host', async () => {
    const host = parseAddresses((await new ExecaRunner().run('ip', ['-j', 'address', 'show'])).stdout).find(
      (a) => a.family === 'inet' && a.scope === 'global',
    );
    expect(host).toBeDefined();
    // `ip route get` only consults the node's routing table: no packet leaves the node.
    const result = await lab.nodes[0]?.exec('ip', ['route', 'get', host?.local ?? ''], { reject: false });
    expect(result?.exitCode).not.toBe(0);
    expect(result?.stderr).toMatch(/Network is unreachable/);
    expect(await lab.nodes[0]?.ip.routes()).toEqual([
      { dst: lab.lan?.subnet, dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: lab.nodes[0]?.lanAddress },
    ]);
  });

  it('keeps the cluster switch (eth1) separate from the LAN switch (eth0)', async () => {
    const [n1, n2] = lab.nodes;
    await n1?.ip.addAddress('eth1', '192.168.77.1/24');
    await n2?.ip.addAddress('eth1', '192.168.77.2/24');
    // Same subnet, but on the LAN bridge: must stay unreachable over eth1.
    await lab.router?.ip.addAddress('eth0', '192.168.77.99/24');
    await n1?.exec('ping', ['-c1', '-W2', '-I', 'eth1', '192.168.77.2']);
    const leak = await n1?.exec('ping', ['-c1', '-W1', '-I', 'eth1', '192.168.77.99'], { reject: false });
    expect(leak?.exitCode).not.toBe(0);
  });

  it('runs long-lived processes inside the node', async () => {
    const proc = await lab.nodes[1]?.spawn('sleep', ['30']);
    // spawn returns once the child exists; nsenter enters the namespace a moment later.
    const inNode = async () => (await new ExecaRunner().run('ip', ['netns', 'pids', lab.nodes[1]?.netns ?? ''])).stdout.split('\n');
    const deadline = Date.now() + 5_000;
    let pids = await inNode();
    while (!pids.includes(String(proc?.pid)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      pids = await inNode();
    }
    expect(pids).toContain(String(proc?.pid));
    proc?.kill();
    await proc?.exited;
  });
});

describe.skipIf(skipUnlessRoot())('parallel labs', () => {
  it('get distinct names even with the same lab name', async () => {
    const labs = await Promise.all([createLab({ name: 'twin', nodes: 1 }), createLab({ name: 'twin', nodes: 1 })]);
    try {
      expect(labs[0]?.id).not.toBe(labs[1]?.id);
      expect(labs[0]?.nodes[0]?.netns).not.toBe(labs[1]?.nodes[0]?.netns);
      expect(labs[0]?.stateDir).not.toBe(labs[1]?.stateDir);
    } finally {
      await Promise.all(labs.map((l) => l?.destroy()));
    }
  });
});
