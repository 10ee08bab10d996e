import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterConfig, type FakeCall, FakeRunner, findExecutable, InMemoryNetwork, parseConfig } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DhcpErrorCode } from '../dhcp-errors.js';
import { hookEventsFile } from '../hook-script.js';
import { clientPaths } from '../state-paths.js';
import { UnrealPidRunner } from '../testing/unreal-pid-runner.js';
import { createDhcpClient } from './create-dhcp-client.js';
import { DhclientClient } from './dhclient.js';
import { DhcpcdClient } from './dhcpcd.js';
import { UdhcpcClient } from './udhcpc.js';

const NOW = Math.floor(Date.now() / 1000);
const MAC = '02:00:00:00:00:02';

function reporting(event: string, env: Record<string, string>, exitCode = 0) {
  return async (call: FakeCall) => {
    const at = call.args.findIndex((a) => a === '-s' || a === '-sf' || a === '-c');
    const file = hookEventsFile(call.args[at + 1] as string);
    await appendFile(file, `${JSON.stringify({ event, at: NOW, env })}\n`);
    return { exitCode };
  };
}

describe('DHCP client adapters', () => {
  let stateDir: string;
  let config: ClusterConfig;
  let network: InMemoryNetwork;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'cl-dhcp-unit-'));
    config = parseConfig({ stateDir, dhcp: { timeoutSeconds: 9 } });
    network = new InMemoryNetwork().withLink('eth1', { mac: MAC });
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  describe('createDhcpClient', () => {
    const located =
      (...names: string[]) =>
      async (name: string) =>
        names.includes(name) ? `/usr/sbin/${name}` : undefined;

    it('auto prefers udhcpc, then busybox, dhclient, dhcpcd', async () => {
      const make = (locate: (n: string) => Promise<string | undefined>) =>
        createDhcpClient({ runner: new FakeRunner(), network, config, link: 'eth1', locate });
      expect((await make(located('udhcpc', 'busybox', 'dhclient', 'dhcpcd'))).kind).toBe('udhcpc');
      const viaBusybox = await make(located('busybox', 'dhclient'));
      expect(viaBusybox).toBeInstanceOf(UdhcpcClient);
      expect((await make(located('dhclient', 'dhcpcd'))).kind).toBe('dhclient');
      expect((await make(located('dhcpcd'))).kind).toBe('dhcpcd');
    });

    it('honours dhcp.client and the kind option', async () => {
      const both = located('udhcpc', 'dhcpcd');
      const configured = parseConfig({ stateDir, dhcp: { client: 'dhcpcd' } });
      expect((await createDhcpClient({ runner: new FakeRunner(), network, config: configured, link: 'eth1', locate: both })).kind).toBe(
        'dhcpcd',
      );
      expect((await createDhcpClient({ runner: new FakeRunner(), network, config, link: 'eth1', kind: 'dhcpcd', locate: both })).kind).toBe(
        'dhcpcd',
      );
    });

    it('fails with a dependency error naming the missing client', async () => {
      const configured = parseConfig({ stateDir, dhcp: { client: 'dhclient' } });
      await expect(
        createDhcpClient({ runner: new FakeRunner(), network, config: configured, link: 'eth1', locate: located('udhcpc') }),
      ).rejects.toMatchObject({
        code: DhcpErrorCode.programNotFound,
        errorClass: 'dependency',
        message: 'dhclient is not installed',
        hint: expect.stringContaining('apt-get install isc-dhcp-client'),
      });
      await expect(createDhcpClient({ runner: new FakeRunner(), network, config, link: 'eth1', locate: located() })).rejects.toMatchObject({
        message: 'no DHCP client is installed (looked for udhcpc, dhclient, dhcpcd, busybox)',
      });
    });

    it('rejects an invalid link name before running anything', async () => {
      await expect(
        createDhcpClient({ runner: new FakeRunner(), network, config, link: 'lo', locate: located('udhcpc') }),
      ).rejects.toMatchObject({
        code: DhcpErrorCode.invalidLink,
      });
    });
  });

  it('findExecutable searches PATH plus sbin, like command -v', async () => {
    expect(await findExecutable('sh', '/nonexistent:/bin')).toBe('/bin/sh');
    expect(await findExecutable('definitely-not-installed-xyz', '/bin')).toBeUndefined();
  });

  describe('DhclientClient', () => {
    const DHCLIENT_ENV = {
      reason: 'BOUND',
      interface: 'eth1',
      new_ip_address: '192.168.200.120',
      new_subnet_mask: '255.255.255.0',
      new_dhcp_server_identifier: '192.168.200.1',
      new_dhcp_lease_time: '4294967295',
      new_host_name: 'node2',
    };

    it('runs dhclient once with a generated config and types its BOUND variables', async () => {
      const runner = new FakeRunner().on('/sbin/dhclient', { prefix: ['-1'] }, reporting('BOUND', DHCLIENT_ENV));
      const client = new DhclientClient({ runner, network, config, link: 'eth1', executable: '/sbin/dhclient', hostname: 'node2' });
      const lease = await client.obtain();
      const p = clientPaths(stateDir, 'eth1');
      expect(runner.commands()).toEqual([
        `/sbin/dhclient -1 -v -cf ${p.extra('dhclient.conf')} -lf ${p.extra('dhclient.leases')} -pf ${p.renewalPidFile} -sf ${p.hookScript} eth1`,
      ]);
      expect(await readFile(p.extra('dhclient.conf'), 'utf8')).toBe(
        '# Generated by @cluster-lab/dhcp; rewritten before each obtain.\ntimeout 9;\ninitial-interval 1;\nretry 5;\n' +
          'request subnet-mask, broadcast-address, routers, domain-name-servers, host-name;\nsend host-name "node2";\n',
      );
      expect(lease).toEqual({ mac: MAC, ip: '192.168.200.120', prefix: 24, serverId: '192.168.200.1', hostname: 'node2', expiresAt: null });
      expect((await network.listAddresses('eth1')).map((a) => a.cidr)).toEqual(['192.168.200.120/24']);
    });

    it('maps "exit 2, no BOUND" to no DHCP server, and releases with dhclient -r', async () => {
      const runner = new FakeRunner()
        .on('dhclient', { prefix: ['-1'] }, reporting('PREINIT', { reason: 'PREINIT' }, 2))
        .on('dhclient', { prefix: ['-r'] }, {});
      const client = new DhclientClient({ runner, network, config, link: 'eth1' });
      await expect(client.obtain({ timeoutMs: 4000 })).rejects.toMatchObject({ message: 'no DHCP server answered within 4 s on eth1' });
      await client.release();
      const p = clientPaths(stateDir, 'eth1');
      expect(runner.commands().at(-1)).toBe(
        `dhclient -r -cf ${p.extra('dhclient.conf')} -lf ${p.extra('dhclient.leases')} -pf ${p.renewalPidFile} -sf ${p.hookScript} eth1`,
      );
    });

    it('ignores non-lease reasons', () => {
      const client = new DhclientClient({ runner: new FakeRunner(), network, config, link: 'eth1' });
      expect(client.leaseFields({ event: 'EXPIRE', at: new Date(), env: DHCLIENT_ENV })).toBeUndefined();
      expect(client.leaseFields({ event: 'RENEW', at: new Date(), env: DHCLIENT_ENV })?.ip).toBe('192.168.200.120');
    });
  });

  describe('DhcpcdClient', () => {
    it('runs dhcpcd in the foreground under a pid file with noconfigure, waits for BOUND, releases with -k', async () => {
      const env = {
        reason: 'BOUND',
        interface: 'eth1',
        new_ip_address: '192.168.200.130',
        new_subnet_cidr: '24',
        new_dhcp_server_identifier: '192.168.200.1',
        new_dhcp_lease_time: '3600',
        new_routers: '192.168.200.254',
      };
      const runner = new UnrealPidRunner().onSpawn('dhcpcd', { prefix: ['-B'] });
      const client = new DhcpcdClient({ runner, network, config, link: 'eth1' });
      const p = clientPaths(stateDir, 'eth1');
      // The fake dhcpcd "leases": its hook reports BOUND shortly after the spawn.
      const timer = setInterval(() => {
        if (runner.calls.length) {
          clearInterval(timer);
          void appendFile(p.eventsFile, `${JSON.stringify({ event: 'BOUND', at: NOW, env })}\n`);
        }
      }, 10);
      const lease = await client.obtain();
      expect(runner.commands('spawn')).toEqual([`dhcpcd -B -f ${p.extra('dhcpcd.conf')} -c ${p.hookScript} -4 -t 9 eth1`]);
      expect(runner.calls[0]?.options).toMatchObject({ detached: true, logFile: p.renewalLogFile });
      const conf = await readFile(p.extra('dhcpcd.conf'), 'utf8');
      expect(conf).toContain('\nnoconfigure\nipv4only\nnoipv4ll\n');
      expect(conf).toContain('\nnoarp\n');
      expect(lease).toMatchObject({
        ip: '192.168.200.130',
        prefix: 24,
        router: '192.168.200.254',
        expiresAt: new Date((NOW + 3600) * 1000),
      });
      expect((await network.listAddresses('eth1')).map((a) => a.cidr)).toEqual(['192.168.200.130/24']);
      expect(await client.renewalPid()).toBeUndefined(); // the fake process is not alive
      expect(await client.release()).toBe(true);
      expect(await network.listAddresses('eth1')).toEqual([]);
    });

    it('maps a dhcpcd that exits without BOUND to no DHCP server', async () => {
      const runner = new UnrealPidRunner().onSpawn('dhcpcd', () => true);
      const client = new DhcpcdClient({ runner, network, config, link: 'eth1' });
      const error = await client.obtain({ timeoutMs: 1000 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: DhcpErrorCode.noServer, message: 'no DHCP server answered within 1 s on eth1' });
      expect(runner.commands('spawn')[0]).toContain(' -t 1 eth1');
    });
  });
});
