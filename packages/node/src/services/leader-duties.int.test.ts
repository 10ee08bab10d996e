import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsulClient, ConsulStore, findConsulBinary } from '@cluster-lab/consul';
import { ExecaRunner, parseConfig, type SpawnedProcess } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createDhcpClient, type DhcpClient, DhcpErrorCode, LEASE_TABLE_KEY, parseLeaseTable, syncLeaseTable } from '@cluster-lab/dhcp';
import { createLab, type Lab, type LabNode } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeFacts, nodeFacts } from '../node-facts.js';
import type { LinkInfo } from '../node-services.js';
import { type LeaderDuties, releaseLeaderDuties, takeLeaderDuties } from './leader-duties.js';

const LEADER_CIDR = '192.168.200.1/24';

/** A free TCP port on loopback (for the Consul agent's ports). */
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Failover of the DHCP duties with real dnsmasq, real udhcpc and a real Consul KV: the lease
 * table a first server mirrored is restored into a second server's dnsmasq, which then honours it.
 * The range holds two addresses — one reserved for the first server's node address, one leased
 * to a client — so a second server that forgot the lease would hand it out again at once.
 */
describe.skipIf(skipUnlessRoot())('leader duties: the lease table survives a change of DHCP server', () => {
  let lab: Lab;
  let dir: string;
  let agent: SpawnedProcess | undefined;
  let store: ConsulStore;
  const clients: DhcpClient[] = [];
  const duties: { node: NodeFacts; duties: LeaderDuties }[] = [];

  beforeAll(async () => {
    const bin = await findConsulBinary();
    if (!bin) throw new Error('no real `consul` executable: run `sudo bash scripts/setup.sh`');
    dir = await mkdtemp(join(tmpdir(), 'cl-leader-duties-'));
    // 0700 like a real state dir (the journal's and the lock's mkdir make it so): dnsmasq must read its hosts file in it.
    await chmod(dir, 0o700);
    // A real Consul agent on loopback only (dev mode: one in-memory server), on ports of its own.
    const [http, server, serf] = [await freePort(), await freePort(), await freePort()];
    agent = await new ExecaRunner().spawn(
      bin,
      [
        'agent',
        '-dev',
        '-bind=127.0.0.1',
        '-client=127.0.0.1',
        `-http-port=${http}`,
        `-server-port=${server}`,
        `-serf-lan-port=${serf}`,
        '-serf-wan-port=-1',
        '-dns-port=-1',
        '-grpc-port=-1',
      ],
      { detached: true, logFile: join(dir, 'consul.log') },
    );
    const client = new ConsulClient({ address: `127.0.0.1:${http}` });
    await client.waitForLeader({ timeoutMs: 30_000 });
    store = new ConsulStore(client);
    lab = await createLab({ name: 'lduty', nodes: 4, clusterNic: true });
  });

  afterAll(async () => {
    for (const c of clients) await c.release().catch(() => {});
    for (const d of duties) await releaseLeaderDuties(d.node, d.duties.entries).catch(() => {});
    store?.client.close();
    agent?.kill('SIGKILL');
    await agent?.exited;
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const facts = (n: LabNode) =>
    nodeFacts(
      parseConfig({
        interface: 'eth1',
        network: { backend: 'native' },
        stateDir: join(dir, n.name),
        dhcp: { rangeStart: '192.168.200.101', rangeEnd: '192.168.200.102', timeoutSeconds: 5 },
      }),
      { runner: n.runner, network: n.ip, hostname: n.name },
    );
  const link = (n: LabNode): LinkInfo => ({ name: 'eth1', mac: n.clusterNicMac as string, mtu: 1500 });
  async function clientOn(n: LabNode): Promise<DhcpClient> {
    const f = facts(n);
    const client = await createDhcpClient({ runner: n.runner, network: n.ip, config: f.config, link: 'eth1', hostname: n.name });
    clients.push(client);
    return client;
  }

  it('a lease mirrored by the first server is honoured by the next: same client, same address; no one else gets it', async () => {
    const [a, b, c1, c2] = lab.nodes as [LabNode, LabNode, LabNode, LabNode];
    const nodeA = facts(a);
    await a.ip.addAddress('eth1', LEADER_CIDR);
    const first = await takeLeaderDuties(nodeA, { link: link(a), election: { claimed: true }, nodeAddress: '192.168.200.101', store });
    duties.push({ node: nodeA, duties: first });
    expect(first.restored).toMatchObject({ found: false });
    expect(first.entries.map((e) => e.kind)).toEqual(['leader-address', 'dhcp-server']);

    // .101 is the first server's own node address, reserved for its MAC: the client gets .102.
    const client1 = await clientOn(c1);
    expect((await client1.obtain()).ip).toBe('192.168.200.102');
    expect(await syncLeaseTable(store, nodeA.paths.dnsmasq.leaseFile)).toMatchObject({ written: true, leases: 1, reservations: 1 });
    const table = parseLeaseTable((await store.get(LEASE_TABLE_KEY))?.value ?? '');
    expect(table?.leases.map((l) => `${l.ip} ${l.mac}`)).toEqual([`192.168.200.102 ${c1.clusterNicMac}`]);
    expect(table?.reservations).toEqual([{ mac: a.clusterNicMac, ip: '192.168.200.101', hostname: a.name }]);

    // The first server goes (its duties released: dnsmasq stopped, the leader address dropped) …
    await releaseLeaderDuties(nodeA, first.entries);
    duties.shift();
    expect((await a.ip.listAddresses('eth1')).map((x) => x.cidr)).not.toContain(LEADER_CIDR);

    // … and another node takes them over, restoring the table first.
    const nodeB = facts(b);
    await b.ip.addAddress('eth1', LEADER_CIDR);
    const second = await takeLeaderDuties(nodeB, { link: link(b), election: { claimed: true }, nodeAddress: '192.168.200.50', store });
    duties.push({ node: nodeB, duties: second });
    expect(second.restored).toMatchObject({ found: true, restored: 1 });
    const hosts = await readFile(nodeB.paths.dnsmasq.hostsFile, 'utf8');
    expect(hosts).toContain(`${a.clusterNicMac},192.168.200.101,${a.name}`);
    expect(hosts).toContain(`${b.clusterNicMac},192.168.200.50,${b.name}`);

    // A new client finds the range taken (.101 reserved, .102 leased): no offer at all.
    const client2 = await clientOn(c2);
    await expect(client2.obtain({ timeoutMs: 3000 })).rejects.toMatchObject({ code: DhcpErrorCode.noServer });
    // The first client, coming back without its address (no renewal client ran, so release()
    // sends no DHCPRELEASE: it only drops the address, like a reboot), gets the same one again.
    await client1.release();
    expect((await client1.obtain()).ip).toBe('192.168.200.102');
    expect(await syncLeaseTable(store, nodeB.paths.dnsmasq.leaseFile)).toMatchObject({ leases: 1, reservations: 2 });
  });
});
