import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunner, InMemoryNetwork, parseConfig, runChecks } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UdhcpcClient } from '../client/udhcpc.js';
import { dnsmasqServer } from '../server/dnsmasq-server.js';
import { clientPaths, dnsmasqPaths } from '../state-paths.js';
import { dhcpClientChecks, dhcpServerChecks } from './dhcp-checks.js';

describe('DHCP health checks', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'cl-dhcp-health-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('server: FAILs when dnsmasq is not running, reports the binding and the live leases', async () => {
    const config = parseConfig({ stateDir });
    const server = dnsmasqServer({ runner: new FakeRunner(), network: new InMemoryNetwork(), config, link: 'eth1', uplink: 'eth0' });
    const paths = dnsmasqPaths(stateDir);
    await mkdir(paths.dir, { recursive: true });
    await writeFile(paths.confFile, server.render().conf);
    const future = Math.floor(Date.now() / 1000) + 3600;
    await writeFile(
      paths.leaseFile,
      `${future} 02:00:00:00:00:02 192.168.200.101 node2 *\n1 02:00:00:00:00:03 192.168.200.102 * *\n0 02:00:00:00:00:04 192.168.200.50 pi4 *\n`,
    );
    const report = await runChecks(dhcpServerChecks(server));
    expect(report.checks.map((c) => [c.id, c.status, c.detail])).toEqual([
      ['dhcp-server-running', 'FAIL', `no dnsmasq runs under ${paths.pidFile}`],
      ['dhcp-server-cluster-link-only', 'PASS', 'bound to 192.168.200.1 (cluster link only), no router option'],
      ['dhcp-server-leases', 'PASS', '2 active lease(s): 192.168.200.101, 192.168.200.50'],
    ]);
  });

  it('client: FAILs without a lease, PASSes with the address on the link; reports a missing renewal process', async () => {
    const config = parseConfig({ stateDir });
    const network = new InMemoryNetwork().withLink('eth1', { mac: '02:00:00:00:00:02' });
    const client = new UdhcpcClient({ runner: new FakeRunner(), network, config, link: 'eth1' });
    const before = await runChecks(dhcpClientChecks(client, network));
    expect(before.checks[0]).toMatchObject({ status: 'FAIL', detail: 'no lease recorded for eth1' });

    const paths = clientPaths(stateDir, 'eth1');
    await mkdir(paths.dir, { recursive: true });
    const lease = { mac: '02:00:00:00:00:02', ip: '192.168.200.101', prefix: 24, serverId: '192.168.200.1', expiresAt: null };
    await writeFile(paths.stateFile, JSON.stringify({ kind: 'udhcpc', link: 'eth1', lease, cidr: '192.168.200.101/24', added: true }));
    expect((await runChecks(dhcpClientChecks(client, network))).checks[0]).toMatchObject({
      status: 'FAIL',
      detail: '192.168.200.101/24 is not on eth1 (has: none)',
    });
    await network.addAddress('eth1', '192.168.200.101/24');
    const after = await runChecks(dhcpClientChecks(client, network));
    expect(after.checks.map((c) => [c.id, c.status, c.detail])).toEqual([
      ['dhcp-lease-applied', 'PASS', '192.168.200.101/24 from 192.168.200.1'],
      ['dhcp-renewal-running', 'FAIL', 'no udhcpc renewal process runs'],
    ]);
    // The renewal client reports a different address (the leader lost its lease database).
    await mkdir(join(paths.dir, 'renewal'), { recursive: true });
    const at = Math.floor(Date.now() / 1000);
    await writeFile(
      paths.renewalEventsFile,
      `${JSON.stringify({ event: 'bound', at, env: { ip: '192.168.200.133', mask: '24', serverid: '192.168.200.1' } })}\n`,
    );
    expect((await runChecks(dhcpClientChecks(client, network))).checks[0]).toMatchObject({
      status: 'WARN',
      detail: 'the server now leases 192.168.200.133, but 192.168.200.101/24 is applied on eth1',
    });
  });
});
