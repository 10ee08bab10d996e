import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandRunner, ExecaRunner, IpRoute2, type Network, PrefixedRunner } from '@cluster-lab/core';
import { uniqueSuffix } from '@cluster-lab/core/testing';

/** One node of {@link createNetnsLab}: the shape of `@cluster-lab/lab`'s `LabNode` that our tests use. */
export interface TestNode {
  name: string;
  netns: string;
  /** Runs commands inside the node's network namespace. */
  runner: CommandRunner;
  /** Network handle acting inside the node's namespace. */
  ip: Network;
  /** MAC of eth1 (the cluster NIC). */
  clusterNicMac: string;
}

/** A small namespace lab for this package's integration tests. */
export interface NetnsLab {
  nodes: TestNode[];
  /** Home-LAN router stand-in: `eth0` on the LAN switch with `lanAddress`. */
  router: { netns: string; runner: CommandRunner; ip: Network; address: string };
  /** Per-lab directory (removed by destroy). */
  stateDir: string;
  destroy(): Promise<void>;
}

const host = new ExecaRunner();

/**
 * Builds N nodes, each with `eth0` on a "home LAN" bridge (nodes .11, .12 … and a router
 * namespace at .1) and `eth1` on a separate "cluster switch" bridge, like
 * `createLab({ lan: true, router: true, clusterNic: true })`. Every name carries a unique suffix;
 * `destroy` removes exactly what was created and is safe twice.
 */
export async function createNetnsLab(count: number): Promise<NetnsLab> {
  const sfx = uniqueSuffix();
  const created: string[] = [];
  const lanNet = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
  const nsRunner = (netns: string) => new PrefixedRunner(host, ['nsenter', `--net=/run/netns/${netns}`, '--']);
  const stateDir = await mkdtemp(join(tmpdir(), `cl-dhcp-${sfx}-`));
  // dnsmasq drops root for "nobody" and re-reads its hosts file as that user.
  await chmod(stateDir, 0o755);
  const destroy = async () => {
    for (const ns of created.reverse()) await host.run('ip', ['netns', 'del', ns], { reject: false });
    created.length = 0;
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    const addNs = async (name: string) => {
      await host.run('ip', ['netns', 'add', name]);
      created.push(name);
      await new IpRoute2(host, name).setUp('lo');
      return new IpRoute2(host, name);
    };
    const swName = `cld${sfx}sw`;
    const sw = await addNs(swName);
    await sw.addLink({ kind: 'bridge', name: 'brlan' });
    await sw.addLink({ kind: 'bridge', name: 'brcl' });
    await sw.setUp('brlan');
    await sw.setUp('brcl');
    const plug = async (ns: IpRoute2, nsName: string, dev: string, bridge: string, port: string) => {
      await ns.addLink({ kind: 'veth', name: dev, peer: port, peerNetns: swName });
      await sw.setMaster(port, bridge);
      await sw.setUp(port);
      await ns.setUp(dev);
      void nsName;
    };
    const routerNs = `cld${sfx}rt`;
    const rt = await addNs(routerNs);
    await plug(rt, routerNs, 'eth0', 'brlan', 'lrt');
    await rt.addAddress('eth0', `${lanNet}.1/24`);
    const nodes: TestNode[] = [];
    for (let i = 1; i <= count; i++) {
      const netns = `cld${sfx}n${i}`;
      const ip = await addNs(netns);
      await plug(ip, netns, 'eth0', 'brlan', `l${i}`);
      await plug(ip, netns, 'eth1', 'brcl', `c${i}`);
      await ip.addAddress('eth0', `${lanNet}.${10 + i}/24`);
      const link = await ip.requireLink('eth1');
      nodes.push({ name: `node${i}`, netns, runner: nsRunner(netns), ip, clusterNicMac: link.mac });
    }
    return { nodes, router: { netns: routerNs, runner: nsRunner(routerNs), ip: rt, address: `${lanNet}.1` }, stateDir, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}
