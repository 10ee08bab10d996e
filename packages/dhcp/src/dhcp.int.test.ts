import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterConfig, ExecaRunner, parseConfig } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab, type LabNode as TestNode } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDhcpClient } from './client/create-dhcp-client.js';
import type { DhcpClient } from './client/dhcp-client.js';
import { DhcpErrorCode } from './dhcp-errors.js';
import { type DhcpServerHandle, dnsmasqServer } from './server/dnsmasq-server.js';
import { probeForDhcpServer } from './server/rogue-probe.js';

const host = new ExecaRunner();

/** Each node gets its own state dir, as on real machines (client files are per link name). */
function configFor(stateDir: string, node: TestNode, extra: Record<string, unknown> = {}): ClusterConfig {
  return parseConfig({ stateDir: join(stateDir, node.name), dhcp: { timeoutSeconds: 5, ...extra } });
}

/** Processes whose command line mentions `needle` (our state dir), as "pid cmdline". */
async function processesMentioning(needle: string): Promise<string[]> {
  const { stdout } = await host.run('pgrep', ['-a', '-f', needle], { reject: false });
  return stdout.split('\n').filter((l) => l.trim() && !l.includes('pgrep'));
}

describe.skipIf(skipUnlessRoot())('DHCP on a namespace lab (dnsmasq + udhcpc)', () => {
  let lab: Lab;
  let stateDir: string;
  let leader: TestNode;
  let server: DhcpServerHandle | undefined;
  const clients: DhcpClient[] = [];
  const clientOf = new Map<TestNode, DhcpClient>();

  beforeAll(async () => {
    lab = await createLab({ name: 'dhcp', nodes: 5, lan: true, router: true, clusterNic: true });
    stateDir = await mkdtemp(join(tmpdir(), 'cl-dhcp-int-'));
    // 0700 like a real state dir (the journal's and the lock's mkdir make it so): dnsmasq must read its hosts file in it.
    await chmod(stateDir, 0o700);
    leader = lab.nodes[0] as TestNode;
    await leader.ip.addAddress('eth1', '192.168.200.1/24');
  });

  afterAll(async () => {
    for (const c of clients) await c.release().catch(() => {});
    await server?.stop().catch(() => {});
    await lab?.destroy();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  async function clientOn(node: TestNode, config = configFor(stateDir, node)): Promise<DhcpClient> {
    const client = await createDhcpClient({ runner: node.runner, network: node.ip, config, link: 'eth1' });
    clients.push(client);
    clientOf.set(node, client);
    return client;
  }

  it('refuses to start when the cluster link holds no address in the subnet', async () => {
    const follower = lab.nodes[1] as TestNode;
    const error = await dnsmasqServer({ runner: follower.runner, config: configFor(stateDir, follower), link: 'eth1', uplink: 'eth0' })
      .start()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: DhcpErrorCode.linkNotInSubnet });
  });

  it('serves on eth1 only; three followers lease distinct addresses in range at once', async () => {
    const t0 = performance.now();
    server = await dnsmasqServer({ runner: leader.runner, config: configFor(stateDir, leader), link: 'eth1', uplink: 'eth0' }).start();
    const tServing = performance.now();
    const followers = lab.nodes.slice(1, 4);
    const leases = await Promise.all(followers.map(async (node) => (await clientOn(node)).obtain()));
    const tLeased = performance.now();
    console.log(`dhcp: probe+start ${Math.round(tServing - t0)} ms, 3 followers leased in ${Math.round(tLeased - tServing)} ms`);

    const ips = leases.map((l) => l.ip);
    expect(new Set(ips).size).toBe(3);
    for (const [i, lease] of leases.entries()) {
      const node = followers[i] as TestNode;
      expect(lease).toMatchObject({ mac: node.clusterNicMac as string, prefix: 24, serverId: '192.168.200.1' });
      const last = Number(lease.ip.split('.')[3]);
      expect(last).toBeGreaterThanOrEqual(101);
      expect(last).toBeLessThanOrEqual(200);
      // No router and no DNS option by default: the cluster lease never touches the default route.
      expect(lease.router).toBeUndefined();
      expect(lease.dns).toBeUndefined();
      expect((await node.ip.listAddresses('eth1')).map((a) => a.cidr)).toContain(`${lease.ip}/24`);
      expect((await node.ip.routes()).some((r) => r.dst === 'default')).toBe(false);
    }
    const served = await server.leases();
    expect(served.map((l) => l.mac).sort()).toEqual(followers.map((n) => n.clusterNicMac).sort());
    expect(tLeased - tServing).toBeLessThan(2000);
  });

  it('never answers on the home LAN (udhcpc in the router namespace gets no offer)', async () => {
    const answer = await probeForDhcpServer({ runner: lab.router!.runner, link: 'eth0', timeoutMs: 2000 });
    expect(answer).toBeUndefined();
    const log = await readFile(server!.logFile, 'utf8');
    expect(log).not.toMatch(/DHCPDISCOVER\(eth0\)/);
  });

  it('detects and refuses a second server on the same cluster link', async () => {
    const other = lab.nodes[1] as TestNode; // holds a leased address in the subnet
    const error = await dnsmasqServer({ runner: other.runner, config: configFor(stateDir, other), link: 'eth1', uplink: 'eth0' })
      .start()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: DhcpErrorCode.rogueServer, serverId: '192.168.200.1' });
    expect(String((error as Error).message)).toContain('192.168.200.1');
    expect(await processesMentioning(join(stateDir, other.name))).toEqual([]);
  });

  it('honours a static lease added by reload (SIGHUP, no restart)', async () => {
    const node = lab.nodes[4] as TestNode;
    const pidBefore = server!.pid;
    const staticLeases = [{ mac: node.clusterNicMac as string, ip: '192.168.200.50', hostname: 'pinned' }];
    const config = configFor(stateDir, leader, { staticLeases });
    expect(await server!.reload(config)).toBe('hosts-reloaded');
    expect(server!.pid).toBe(pidBefore);
    expect(await server!.reload(config)).toBe('unchanged');
    // start() again with the same config (e.g. `cluster-lab start` re-run) finds the running one.
    const again = await dnsmasqServer({ runner: leader.runner, config, link: 'eth1', uplink: 'eth0' }).start();
    expect(again).toMatchObject({ started: false, pid: pidBefore });
    // Every node has the cluster's config: the follower accepts the address outside the range
    // because it is its own static lease.
    const lease = await (await clientOn(node, configFor(stateDir, node, { staticLeases }))).obtain();
    expect(lease.ip).toBe('192.168.200.50');
    expect((await server!.leases()).find((l) => l.mac === node.clusterNicMac)?.ip).toBe('192.168.200.50');
  });

  it('keeps a lease renewed in the background and releases it on stop', async () => {
    const node = lab.nodes[1] as TestNode;
    const client = clientOf.get(node) as DhcpClient;
    const applied = (await client.current())!;
    const renewal = await client.startRenewal();
    expect(renewal.started).toBe(true);
    expect((await client.renewed())?.ip).toBe(applied.lease.ip);
    expect(await client.startRenewal()).toMatchObject({ pid: renewal.pid, started: false });
    // obtain() again while the renewal runs (a re-run of `start`) keeps the lease, starts nothing.
    expect((await client.obtain()).ip).toBe(applied.lease.ip);
    expect(await client.renewalPid()).toBe(renewal.pid);
    expect(await client.renewalPid()).toBe(renewal.pid);
    expect(await client.release()).toBe(true);
    expect(await client.release()).toBe(false);
    expect((await node.ip.listAddresses('eth1')).map((a) => a.cidr)).not.toContain(applied.cidr);
    expect(await processesMentioning(join(stateDir, node.name))).toEqual([]);
  });

  it('restarts on a changed range and keeps the leases; a configured router is handed out but never installed', async () => {
    const before = await server!.leases();
    const config = configFor(stateDir, leader, {
      rangeStart: '192.168.200.101',
      rangeEnd: '192.168.200.150',
      leaseTime: '2h',
      router: '192.168.200.254',
    });
    expect(await server!.reload(config)).toBe('restarted');
    expect(await readFile(server!.confFile, 'utf8')).toContain('dhcp-range=192.168.200.101,192.168.200.150,255.255.255.0,7200');
    expect((await server!.leases()).map((l) => l.ip).sort()).toEqual(before.map((l) => l.ip).sort());
    const node = lab.nodes[3] as TestNode;
    const lease = await (clientOf.get(node) as DhcpClient).obtain();
    expect(lease.router).toBe('192.168.200.254');
    // The new, narrower range applies: an old address outside it is not handed out again.
    expect(Number(lease.ip.split('.')[3])).toBeLessThanOrEqual(150);
    expect((await node.ip.listAddresses('eth1')).filter((a) => a.family === 'inet').map((a) => a.cidr)).toEqual([`${lease.ip}/24`]);
    expect((await node.ip.routes()).some((r) => r.dst === 'default')).toBe(false);
  });

  it('reports "no DHCP server answered" when none serves, and stop leaves nothing running', async () => {
    await server!.stop();
    await server!.stop();
    expect(await processesMentioning(join(stateDir, leader.name))).toEqual([]);
    const node = lab.nodes[2] as TestNode;
    const client = await clientOn(node);
    await client.release();
    const started = performance.now();
    const error = await client.obtain({ timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: DhcpErrorCode.noServer, message: 'no DHCP server answered within 1 s on eth1' });
    expect(performance.now() - started).toBeLessThan(4000);
    for (const c of clients) await c.release();
    for (const n of lab.nodes.slice(1)) {
      expect((await n.ip.listAddresses('eth1')).filter((a) => a.family === 'inet')).toEqual([]);
    }
    expect(await processesMentioning(stateDir)).toEqual([]);
  });
});
