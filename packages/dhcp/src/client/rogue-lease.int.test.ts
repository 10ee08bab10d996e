import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner, findExecutable, parseConfig, type SpawnedProcess } from '@cluster-lab/core';
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
const ROGUE = '192.168.200.66';

/**
 * A rogue DHCP server on the cluster link (real dnsmasq in its own namespace, answering as
 * itself, handing out the mask 128.0.0.0) beside the leader's real dnsmasq: followers
 * with every client adapter refuse the rogue's leases and apply only the leader's.
 */
describe.skipIf(skipUnlessRoot())("a rogue DHCP server on the cluster link: followers apply only the leader's lease", () => {
  let lab: Lab;
  let stateDir: string;
  let leader: DhcpServerHandle | undefined;
  let rogue: SpawnedProcess | undefined;

  beforeAll(async () => {
    lab = await createLab({ name: 'dhcp-rogue', nodes: 3, lan: false, clusterNic: true });
    stateDir = await mkdtemp(join(tmpdir(), 'cl-dhcp-rogue-'));
    // 0700 like a real state dir (the journal's and the lock's mkdir make it so): dnsmasq must read its hosts file in it.
    await chmod(stateDir, 0o700);
    const [n1, , n3] = lab.nodes as [LabNode, LabNode, LabNode];
    await n1.ip.addAddress('eth1', '192.168.200.1/24');
    await n3.ip.addAddress('eth1', `${ROGUE}/24`);
    // The rogue: plain dnsmasq, authoritative, no ping check — as fast as the leader's.
    rogue = await n3.spawn(
      'dnsmasq',
      [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--port=0',
        '--interface=eth1',
        '--bind-interfaces',
        '--dhcp-authoritative',
        '--no-ping',
        '--leasefile-ro',
        `--pid-file=${join(stateDir, 'rogue.pid')}`,
        '--dhcp-range=192.168.200.50,192.168.200.60,1h',
        '--dhcp-option=option:netmask,128.0.0.0',
      ],
      { detached: true, logFile: join(stateDir, 'rogue.log') },
    );
  });
  afterAll(async () => {
    await leader?.stop().catch(() => {});
    rogue?.kill('SIGTERM');
    await rogue?.exited;
    await lab?.destroy();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  const clientFor = async (kind: DhcpClientKind, timeoutSeconds: number) => {
    const node = lab.nodes[1] as LabNode;
    const config = parseConfig({ stateDir: join(stateDir, kind), dhcp: { client: kind, timeoutSeconds } });
    return { node, client: await createDhcpClient({ runner: node.runner, network: node.ip, config, link: 'eth1' }) };
  };

  for (const kind of ['udhcpc', 'dhclient', 'dhcpcd'] as DhcpClientKind[]) {
    it.skipIf(!installed[kind])(`${kind}: with only the rogue answering, every offer is refused and nothing is applied`, async () => {
      // Long enough for a client's first DISCOVER and the rogue's OFFER on a busy machine (dhcpcd
      // waits up to a second before its first DISCOVER); the test lasts this long.
      const { node, client } = await clientFor(kind, 6);
      try {
        const error = await client.obtain().catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'DHCP_LEASE_REFUSED', servers: [ROGUE] });
        const refused = await client.refusals();
        expect(refused.count).toBeGreaterThanOrEqual(1);
        expect(Object.keys(refused.byServer)).toEqual([ROGUE]);
        expect(refused.byReason['server-not-leader']).toBe(refused.count);
        expect(refused.last?.lease).toMatch(/^192\.168\.200\.(5\d|60)\/1$/);
        expect((await node.ip.listAddresses('eth1')).filter((a) => a.family === 'inet')).toEqual([]);
      } finally {
        await client.release();
      }
    });
  }

  it.skipIf(!installed.udhcpc)(
    "udhcpc: with the leader serving too, the leader's lease is applied and renewed, the rogue's never",
    async () => {
      leader = await dnsmasqServer({
        runner: (lab.nodes[0] as LabNode).runner,
        config: parseConfig({ stateDir: join(stateDir, 'leader') }),
        link: 'eth1',
        probe: false,
      }).start();
      const { node, client } = await clientFor('udhcpc', 20);
      try {
        // Both servers answer every DISCOVER; whichever offer udhcpc takes, only the leader's is applied.
        for (let round = 0; round < 3; round++) {
          const lease = await client.obtain();
          expect(lease).toMatchObject({ serverId: '192.168.200.1', prefix: 24 });
          expect((await node.ip.listAddresses('eth1')).filter((a) => a.family === 'inet').map((a) => a.cidr)).toEqual([`${lease.ip}/24`]);
          const renewal = await client.startRenewal();
          expect(await client.renewalPid()).toBe(renewal.pid);
          expect((await client.renewed())?.ip).toBe(lease.ip);
          await client.release();
        }
        expect((await node.ip.routes()).some((r) => r.dst === 'default' || r.dst.startsWith('128.'))).toBe(false);
      } finally {
        await client.release();
      }
      expect((await node.ip.listAddresses('eth1')).filter((a) => a.family === 'inet')).toEqual([]);
      const { stdout } = await host.run('pgrep', ['-a', '-f', join(stateDir, 'udhcpc')], { reject: false });
      expect(stdout.trim()).toBe('');
    },
  );
});
