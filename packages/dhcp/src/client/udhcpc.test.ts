import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterConfig, type FakeCall, FakeRunner, InMemoryNetwork, parseConfig } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DhcpErrorCode } from '../dhcp-errors.js';
import { hookEventsFile } from '../hook-script.js';
import { clientPaths } from '../state-paths.js';
import { UnrealPidRunner } from '../testing/unreal-pid-runner.js';
import { UdhcpcClient } from './udhcpc.js';

const MAC = '02:00:00:00:00:02';
const NOW = Math.floor(Date.now() / 1000);

/** A FakeRunner reply that behaves like udhcpc calling our hook with `events`, then exiting. */
function udhcpcReporting(events: { event: string; env: Record<string, string> }[], exitCode = 0) {
  return async (call: FakeCall) => {
    const file = hookEventsFile(call.args[call.args.indexOf('-s') + 1] as string);
    for (const e of events) await appendFile(file, `${JSON.stringify({ event: e.event, at: NOW, env: e.env })}\n`);
    return { exitCode };
  };
}

const BOUND = {
  event: 'bound',
  env: {
    interface: 'eth1',
    ip: '192.168.200.101',
    mask: '24',
    subnet: '255.255.255.0',
    serverid: '192.168.200.1',
    lease: '3600',
    opt53: '05',
  },
};

describe('UdhcpcClient', () => {
  let stateDir: string;
  let config: ClusterConfig;
  let network: InMemoryNetwork;

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'cl-dhcp-unit-'));
    config = parseConfig({ stateDir, dhcp: { timeoutSeconds: 7 } });
    network = new InMemoryNetwork()
      .withLink('eth0', { mac: '02:00:00:00:00:01' })
      .withLink('eth1', { mac: MAC })
      .withRoute({ dst: 'default', gateway: '10.0.0.1', dev: 'eth0' });
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('runs udhcpc in the foreground with fast timing and applies only the address', async () => {
    const runner = new FakeRunner().on('/usr/sbin/udhcpc', { prefix: ['-f'] }, udhcpcReporting([{ event: 'deconfig', env: {} }, BOUND]));
    const client = new UdhcpcClient({ runner, network, config, link: 'eth1', executable: '/usr/sbin/udhcpc', hostname: 'node2' });
    const lease = await client.obtain();
    const hook = clientPaths(stateDir, 'eth1').hookScript;
    expect(runner.commands()).toEqual([`/usr/sbin/udhcpc -f -q -n -i eth1 -s ${hook} -x hostname:node2 -t 7 -T 1`]);
    expect(runner.calls[0]?.options).toMatchObject({ timeoutMs: 10_000 });
    expect(lease).toEqual({
      mac: MAC,
      ip: '192.168.200.101',
      prefix: 24,
      serverId: '192.168.200.1',
      expiresAt: new Date((NOW + 3600) * 1000),
    });
    expect((await network.listAddresses('eth1')).map((a) => a.cidr)).toEqual(['192.168.200.101/24']);
    expect((await network.routes()).filter((r) => r.dst === 'default')).toEqual([{ dst: 'default', gateway: '10.0.0.1', dev: 'eth0' }]);
    expect(await client.current()).toMatchObject({ kind: 'udhcpc', cidr: '192.168.200.101/24', added: true, lease });
  });

  it('reports but never installs a router the server offers', async () => {
    const runner = new FakeRunner().on(
      'udhcpc',
      () => true,
      udhcpcReporting([{ event: 'bound', env: { ...BOUND.env, router: '192.168.200.254', dns: '192.168.200.53 192.168.200.54' } }]),
    );
    const lease = await new UdhcpcClient({ runner, network, config, link: 'eth1' }).obtain();
    expect(lease).toMatchObject({ router: '192.168.200.254', dns: ['192.168.200.53', '192.168.200.54'] });
    expect((await network.routes()).filter((r) => r.dst === 'default')).toEqual([{ dst: 'default', gateway: '10.0.0.1', dev: 'eth0' }]);
  });

  it('calls busybox udhcpc when only busybox is installed', async () => {
    const runner = new FakeRunner().on('/bin/busybox', { prefix: ['udhcpc', '-f'] }, udhcpcReporting([BOUND]));
    await new UdhcpcClient({ runner, network, config, link: 'eth1', executable: '/bin/busybox', argsPrefix: ['udhcpc'] }).obtain({
      timeoutMs: 2500,
    });
    expect(runner.commands()[0]).toMatch(/^\/bin\/busybox udhcpc -f -q -n -i eth1 -s \S+ -t 3 -T 1$/);
  });

  it('fails with "no DHCP server answered" and a hint when no lease arrives', async () => {
    const runner = new FakeRunner().on(
      'udhcpc',
      () => true,
      udhcpcReporting(
        [
          { event: 'deconfig', env: {} },
          { event: 'leasefail', env: {} },
        ],
        1,
      ),
    );
    const error = await new UdhcpcClient({ runner, network, config, link: 'eth1' }).obtain({ timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: DhcpErrorCode.noServer,
      message: 'no DHCP server answered within 3 s on eth1',
      hint: expect.stringContaining('does the switch filter VLAN tags'),
    });
    expect(await network.listAddresses('eth1')).toEqual([]);
  });

  it('refuses a lease outside the cluster subnet (a foreign server) without applying it', async () => {
    const runner = new FakeRunner().on(
      'udhcpc',
      () => true,
      udhcpcReporting([{ event: 'bound', env: { ...BOUND.env, ip: '10.0.0.77', serverid: '10.0.0.1' } }]),
    );
    const error = await new UdhcpcClient({ runner, network, config, link: 'eth1' }).obtain({ timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: DhcpErrorCode.leaseRefused,
      message:
        'no acceptable DHCP lease on eth1 within 1 s: refused DHCP lease 10.0.0.77/24 from 10.0.0.1: the server is not the authenticated leader (192.168.200.1): a rogue DHCP server?',
    });
    expect(await network.listAddresses('eth1')).toEqual([]);
  });

  it('rejects a lease without a netmask', async () => {
    const runner = new FakeRunner().on(
      'udhcpc',
      () => true,
      udhcpcReporting([{ event: 'bound', env: { ip: '192.168.200.101', serverid: '192.168.200.1' } }]),
    );
    await expect(new UdhcpcClient({ runner, network, config, link: 'eth1' }).obtain()).rejects.toMatchObject({
      code: DhcpErrorCode.badLease,
      message: 'udhcpc reported a lease with no usable netmask (null)',
    });
  });

  it('reports a missing udhcpc as a dependency error', async () => {
    const runner = new FakeRunner().on('udhcpc', () => true, { notFound: true });
    await expect(new UdhcpcClient({ runner, network, config, link: 'eth1' }).obtain()).rejects.toMatchObject({
      code: DhcpErrorCode.programNotFound,
      errorClass: 'dependency',
    });
  });

  it('replaces the address of an earlier, different lease and releases idempotently', async () => {
    // FakeRunner answers from the latest matching entry first.
    const runner = new FakeRunner()
      .once('udhcpc', () => true, udhcpcReporting([{ event: 'bound', env: { ...BOUND.env, ip: '192.168.200.102' } }]))
      .once('udhcpc', () => true, udhcpcReporting([BOUND]));
    const client = new UdhcpcClient({ runner, network, config, link: 'eth1' });
    await client.obtain();
    await client.obtain();
    expect((await network.listAddresses('eth1')).map((a) => a.cidr)).toEqual(['192.168.200.102/24']);
    expect(await client.release()).toBe(true);
    expect(await network.listAddresses('eth1')).toEqual([]);
    expect(await client.release()).toBe(false);
  });

  it('starts a detached renewal udhcpc that re-requests the address and releases on exit', async () => {
    const runner = new UnrealPidRunner().on('udhcpc', () => true, udhcpcReporting([BOUND])).onSpawn('udhcpc', () => true);
    const client = new UdhcpcClient({ runner, network, config, link: 'eth1' });
    await client.obtain();
    const paths = clientPaths(stateDir, 'eth1');
    const renewal = client.startRenewal();
    // The fake process "gets" its lease: the hook reports it.
    setTimeout(() => void writeFile(paths.renewalEventsFile, `${JSON.stringify({ ...BOUND, at: Math.floor(Date.now() / 1000) })}\n`), 30);
    const handle = await renewal;
    expect(runner.commands('spawn')).toEqual([`udhcpc -f -R -i eth1 -s ${paths.renewalHookScript} -r 192.168.200.101 -t 3 -T 1 -A 5`]);
    expect(runner.calls[1]?.options).toMatchObject({
      detached: true,
      logFile: paths.renewalLogFile,
    });
    expect(handle).toMatchObject({ pidFile: paths.renewalPidFile, started: true });
    expect((await readFile(paths.renewalPidFile, 'utf8')).trim()).toBe(String(handle.pid));
    expect((await client.renewed())?.ip).toBe('192.168.200.101');
    // The fake process is not alive, so release finds no renewal process to signal.
    expect(await client.release()).toBe(true);
    expect(await network.listAddresses('eth1')).toEqual([]);
  });

  it('refuses to renew before a lease was obtained', async () => {
    await expect(new UdhcpcClient({ runner: new FakeRunner(), network, config, link: 'eth1' }).startRenewal()).rejects.toMatchObject({
      code: 'DHCP_NO_LEASE',
    });
  });
});
