import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseConfig } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab, type LabNode } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from './backends/backend-error.js';
import type { EnsureResult, NetworkBackend } from './backends/network-backend.js';
import { createBackend } from './create-backend.js';
import { probeLink } from './probe/probe-link.js';
import { type UplinkState, uplinkState } from './testing/uplink-state.js';

/** CONFIG_VLAN_8021Q of the running kernel ('y' | 'm' | 'n'), or undefined when unknown. */
function kernel8021q(): string | undefined {
  if (existsSync('/proc/net/vlan')) return 'y';
  if (!existsSync('/proc/config.gz')) return undefined;
  const config = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  const m = /^CONFIG_VLAN_8021Q=(\w)/m.exec(config);
  return m ? (m[1] as string) : /# CONFIG_VLAN_8021Q is not set/.test(config) ? 'n' : undefined;
}

/** `ping -c1 -W1` from a node (only to addresses inside this lab). */
async function ping(node: LabNode, target: string, extra: string[] = []): Promise<boolean> {
  const { exitCode } = await node.runner.run('ping', ['-c1', '-W1', ...extra, target], { reject: false, timeoutMs: 5000 });
  return exitCode === 0;
}

async function linkNames(node: LabNode): Promise<string[]> {
  return (await node.ip.listLinks()).map((l) => l.name).sort();
}

describe.skipIf(skipUnlessRoot())('network backends between 3 lab nodes', () => {
  let lab: Lab;
  let nodes: LabNode[];
  const before = new Map<string, UplinkState>();

  beforeAll(async () => {
    lab = await createLab({ name: 'vlan', nodes: 3, clusterNic: true });
    nodes = [...lab.nodes];
    for (const n of nodes) {
      before.set(`${n.name}/eth0`, await uplinkState(n.ip, 'eth0'));
      before.set(`${n.name}/eth1`, await uplinkState(n.ip, 'eth1'));
    }
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  async function expectUplinksUnchanged(): Promise<void> {
    for (const n of nodes) {
      expect(await uplinkState(n.ip, 'eth0')).toEqual(before.get(`${n.name}/eth0`));
      expect(await uplinkState(n.ip, 'eth1')).toEqual(before.get(`${n.name}/eth1`));
    }
  }

  /** Gives each node 192.168.<x>.1x/24 on `link`, pings every other node, removes the addresses. */
  async function pingMesh(backends: NetworkBackend[], third: number, pingArgs: string[] = []): Promise<void> {
    const cidrs = nodes.map((_, i) => `192.168.${third}.${11 + i}/24`);
    await Promise.all(nodes.map((n, i) => n.ip.addAddress(backends[i]?.linkName as string, cidrs[i] as string)));
    try {
      for (const [i, n] of nodes.entries()) {
        for (const [j] of nodes.entries()) {
          if (i === j) continue;
          const target = (cidrs[j] as string).split('/')[0] as string;
          expect(await ping(n, target, pingArgs), `${n.name} → ${target}`).toBe(true);
        }
      }
    } finally {
      await Promise.all(nodes.map((n, i) => n.ip.delAddress(backends[i]?.linkName as string, cidrs[i] as string)));
    }
  }

  it('native: eth1 on the cluster switch is used as-is; nodes ping each other; teardown only undoes bring-up', async () => {
    // node1's NIC starts down, so ensure() has something to undo there.
    await nodes[0]?.ip.setDown('eth1');
    const config = parseConfig({ interface: 'eth1', network: { backend: 'native' } });
    const backends = nodes.map((n) => createBackend(config, { network: n.ip, runner: n.runner }));
    const results = await Promise.all(backends.map((b) => b.ensure()));
    expect(results.map((r) => [r.created, r.broughtUp])).toEqual([
      [false, true],
      [false, false],
      [false, false],
    ]);
    expect(results.map((r) => r.link.mac)).toEqual(nodes.map((n) => n.clusterNicMac));
    for (const b of backends) expect((await b.describe()).ok).toBe(true);

    await pingMesh(backends, 201);

    for (const [i, b] of backends.entries()) {
      const r = results[i] as EnsureResult;
      await b.teardown(r);
      expect(await b.teardown(r)).toBe(false);
    }
    expect((await nodes[0]?.ip.getLink('eth1'))?.up).toBe(false);
    expect((await nodes[1]?.ip.getLink('eth1'))?.up).toBe(true);
    await nodes[0]?.ip.setUp('eth1');
    await expectUplinksUnchanged();
  });

  it('vxlan (multicast group): created on every node, idempotent, MTU 1450 carries a full DF packet, removed twice harmlessly', async () => {
    const config = parseConfig({ interface: 'eth0', network: { backend: 'vxlan', vxlan: { vni: 200, name: 'vx200' } } });
    const backends = nodes.map((n) => createBackend(config, { network: n.ip, runner: n.runner }));
    const linksBefore = await Promise.all(nodes.map(linkNames));
    const results = await Promise.all(backends.map((b) => b.ensure()));
    expect(results.every((r) => r.created && r.broughtUp && r.link.mtu === 1450 && r.link.up)).toBe(true);
    const again = await Promise.all(backends.map((b) => b.ensure()));
    expect(again.every((r) => !r.created && !r.broughtUp)).toBe(true);
    const d = await backends[0]?.describe();
    expect(d).toMatchObject({ ok: true, vni: 200, port: 4790, group: '239.1.1.200', mtu: 1450 });

    // 1422 bytes of ICMP payload + 28 = 1450: fits the VXLAN MTU with don't-fragment set.
    await pingMesh(backends, 202, ['-M', 'do', '-s', '1422']);
    await expectUplinksUnchanged();

    for (const [i, b] of backends.entries()) {
      expect(await b.teardown(results[i])).toBe(true);
      expect(await b.teardown(results[i])).toBe(false);
    }
    expect(await Promise.all(nodes.map(linkNames))).toEqual(linksBefore);
    await expectUplinksUnchanged();
  });

  it('vxlan (static peers, one list for all nodes): forwarding entries per peer, ping, teardown', async () => {
    const peers = nodes.map((n) => n.lanAddress as string);
    const config = parseConfig({ interface: 'eth0', network: { backend: 'vxlan', vxlan: { vni: 300, name: 'vxp', peers } } });
    const backends = nodes.map((n) => createBackend(config, { network: n.ip, runner: n.runner }));
    const results = await Promise.all(backends.map((b) => b.ensure()));
    for (const [i, b] of backends.entries()) {
      const d = await b.describe();
      expect(d.ok, JSON.stringify(d.problems)).toBe(true);
      expect([...(d.peers ?? [])].sort()).toEqual(peers.filter((_, j) => j !== i).sort());
    }
    await pingMesh(backends, 203);
    for (const [i, b] of backends.entries()) {
      expect(await b.teardown(results[i])).toBe(true);
      expect(await b.teardown(results[i])).toBe(false);
      expect(await nodes[i]?.ip.getLink('vxp')).toBeUndefined();
    }
    await expectUplinksUnchanged();
  });

  it('probeLink: reachable over vxlan between two nodes, unreachable to a node without the overlay; temporary addresses removed', async () => {
    const config = parseConfig({ interface: 'eth0', network: { backend: 'vxlan', vxlan: { vni: 400, name: 'vx400' } } });
    const [a, b, c] = nodes as [LabNode, LabNode, LabNode];
    const ba = createBackend(config, { network: a.ip, runner: a.runner });
    const bb = createBackend(config, { network: b.ip, runner: b.runner });
    const other = createBackend(parseConfig({ interface: 'eth0', network: { backend: 'vxlan', vxlan: { vni: 401, name: 'vx400' } } }), {
      network: c.ip,
      runner: c.runner,
    });
    const [ra, rb, rc] = await Promise.all([ba.ensure(), bb.ensure(), other.ensure()]);
    try {
      const ok = await probeLink({
        local: { network: a.ip, runner: a.runner, link: 'vx400' },
        peer: { network: b.ip, runner: b.runner, link: 'vx400' },
        backend: ba,
      });
      expect(ok.reachable, ok.detail).toBe(true);
      expect(ok.rttMs).toBeGreaterThan(0);
      // node3 runs another VNI: the overlay does not connect it.
      const bad = await probeLink({
        local: { network: a.ip, runner: a.runner, link: 'vx400' },
        peer: { network: c.ip, runner: c.runner, link: 'vx400' },
        backend: ba,
        attempts: 1,
      });
      expect(bad.reachable).toBe(false);
      expect(bad.hint).toContain('UDP port 4790');
      for (const n of [a, b, c]) expect(await n.ip.listAddresses('vx400').then((l) => l.filter((x) => x.family === 'inet'))).toEqual([]);
    } finally {
      await ba.teardown(ra);
      await bb.teardown(rb);
      await other.teardown(rc);
    }
    await expectUplinksUnchanged();
  });

  it('vlan: on a kernel without 802.1Q, ensure fails with KERNEL_NO_8021Q and leaves nothing behind', async () => {
    const support = kernel8021q();
    const node = nodes[0] as LabNode;
    const backend = createBackend(parseConfig({ interface: 'eth0', network: { backend: 'vlan', vlanId: 200 } }), {
      network: node.ip,
      runner: node.runner,
    });
    const linksBefore = await linkNames(node);
    const outcome = await backend.ensure().then(
      (r) => r,
      (e: unknown) => e,
    );
    if (support === 'n') {
      expect(outcome).toBeInstanceOf(BackendError);
      expect(outcome).toMatchObject({ code: 'KERNEL_NO_8021Q', errorClass: 'dependency' });
      expect((outcome as BackendError).hint).toContain('modprobe 8021q');
      expect(await linkNames(node)).toEqual(linksBefore);
      expect((await backend.describe()).problems.map((p) => p.code)).toEqual(['LINK_MISSING']);
      expect(await backend.teardown()).toBe(false);
    } else if (!(outcome instanceof Error)) {
      // A kernel with 802.1Q: the real link is made and removed again.
      const r = outcome as EnsureResult;
      expect((await node.ip.getLink('eth0.200'))?.vlan?.id).toBe(200);
      expect(await backend.teardown(r)).toBe(true);
      expect(await linkNames(node)).toEqual(linksBefore);
    } else {
      expect(outcome).toMatchObject({ code: 'KERNEL_NO_8021Q' });
    }
    await expectUplinksUnchanged();
  });
});
