import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner, findExecutable, parseConfig } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab, type LabNode } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DhcpServerHandle, dnsmasqServer } from '../server/dnsmasq-server.js';
import { createDhcpClient } from './create-dhcp-client.js';
import type { DhcpClientKind } from './dhcp-client.js';

const installed = {
  udhcpc: Boolean((await findExecutable('udhcpc')) ?? (await findExecutable('busybox'))),
  dhclient: Boolean(await findExecutable('dhclient')),
  dhcpcd: Boolean(await findExecutable('dhcpcd')),
};
const host = new ExecaRunner();

/** Every client adapter against a real dnsmasq (adapters whose program is not installed are skipped). */
describe.skipIf(skipUnlessRoot())('DHCP client adapters against dnsmasq', () => {
  let lab: Lab;
  let stateDir: string;
  let server: DhcpServerHandle | undefined;

  beforeAll(async () => {
    lab = await createLab({ name: 'dhcpc', nodes: 2, lan: true, clusterNic: true });
    stateDir = await mkdtemp(join(tmpdir(), 'cl-dhcp-clients-'));
    // 0700 like a real state dir (the journal's and the lock's mkdir make it so): dnsmasq must read its hosts file in it.
    await chmod(stateDir, 0o700);
    const leader = lab.nodes[0] as LabNode;
    await leader.ip.addAddress('eth1', '192.168.200.1/24');
    server = await dnsmasqServer({
      runner: leader.runner,
      config: parseConfig({ stateDir: join(stateDir, 'leader') }),
      link: 'eth1',
      uplink: 'eth0',
      probe: false,
    }).start();
  });
  afterAll(async () => {
    await server?.stop().catch(() => {});
    await lab?.destroy();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  for (const kind of ['udhcpc', 'dhclient', 'dhcpcd'] as DhcpClientKind[]) {
    it.skipIf(!installed[kind])(`${kind}: leases, applies only the address, renews in the background, releases`, async () => {
      const node = lab.nodes[1] as LabNode;
      const dir = join(stateDir, kind);
      const config = parseConfig({ stateDir: dir, dhcp: { client: kind, timeoutSeconds: 10 } });
      const client = await createDhcpClient({ runner: node.runner, network: node.ip, config, link: 'eth1' });
      expect(client.kind).toBe(kind);
      try {
        const lease = await client.obtain();
        expect(lease).toMatchObject({ mac: node.clusterNicMac, prefix: 24, serverId: '192.168.200.1' });
        expect(lease.router).toBeUndefined();
        expect((await node.ip.listAddresses('eth1')).filter((a) => a.family === 'inet').map((a) => a.cidr)).toEqual([`${lease.ip}/24`]);
        expect((await node.ip.routes()).some((r) => r.dst === 'default')).toBe(false);
        const renewal = await client.startRenewal();
        expect(await client.renewalPid()).toBe(renewal.pid);
        expect((await server!.leases()).some((l) => l.ip === lease.ip)).toBe(true);
      } finally {
        await client.release();
      }
      expect((await node.ip.listAddresses('eth1')).filter((a) => a.family === 'inet')).toEqual([]);
      expect(await client.renewalPid()).toBeUndefined();
      const { stdout } = await host.run('pgrep', ['-a', '-f', dir], { reject: false });
      expect(stdout.trim()).toBe('');
    });
  }
});
