import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type ClusterConfig, type FakeCall, FakeRunner, InMemoryNetwork, type ProgressEvent, parseConfig } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hookEventsFile } from '../hook-script.js';
import { clientPaths } from '../state-paths.js';
import { UnrealPidRunner } from '../testing/unreal-pid-runner.js';
import { DhclientClient } from './dhclient.js';
import { DhcpcdClient } from './dhcpcd.js';
import { readLeaseRefusals } from './lease-refusals.js';
import { UdhcpcClient } from './udhcpc.js';

const MAC = '02:00:00:00:00:02';
const at = () => Math.floor(Date.now() / 1000);
const LEADER = { ip: '192.168.200.101', mask: '24', serverid: '192.168.200.1', lease: '3600' };
/** A rogue on the cluster link: its own server id, and the mask 128.0.0.0. */
const ROGUE = { ip: '192.168.200.50', mask: '1', serverid: '192.168.200.66', lease: '3600' };
const ROGUE_AS_LEADER = { ...ROGUE, serverid: '192.168.200.1' };

/** udhcpc calling our hook with one `bound` event, then exiting. */
const udhcpcBound = (env: Record<string, string>) => async (call: FakeCall) => {
  const file = hookEventsFile(call.args[call.args.indexOf('-s') + 1] as string);
  await appendFile(file, `${JSON.stringify({ event: 'bound', at: at(), env })}\n`);
  return { exitCode: 0 };
};

describe('followers accept a lease only from the leader', () => {
  let stateDir: string;
  let config: ClusterConfig;
  let network: InMemoryNetwork;
  let events: ProgressEvent[];
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'cl-rogue-lease-'));
    config = parseConfig({ stateDir, dhcp: { timeoutSeconds: 2 } });
    network = new InMemoryNetwork().withLink('eth1', { mac: MAC });
    events = [];
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));
  const udhcpc = (runner: FakeRunner, extra = {}) =>
    new UdhcpcClient({ runner, network, config, link: 'eth1', events: (e) => events.push(e), ...extra });

  it("refuses the rogue's lease (wrong server id, mask 128.0.0.0), logs and counts it, asks again and applies the leader's", async () => {
    // FakeRunner answers from the latest matching entry first: the rogue wins the first race.
    const runner = new FakeRunner().on('udhcpc', () => true, udhcpcBound(LEADER)).once('udhcpc', () => true, udhcpcBound(ROGUE));
    const lease = await udhcpc(runner).obtain();
    expect(lease).toMatchObject({ ip: '192.168.200.101', prefix: 24, serverId: '192.168.200.1' });
    expect((await network.listAddresses('eth1')).map((a) => a.cidr)).toEqual(['192.168.200.101/24']);
    expect(runner.commands()).toHaveLength(2);
    expect(events).toEqual([
      {
        type: 'log',
        level: 'warn',
        source: 'dhcp',
        message:
          'refused DHCP lease 192.168.200.50/1 from 192.168.200.66: the server is not the authenticated leader (192.168.200.1): a rogue DHCP server? (not applied)',
      },
    ]);
    const counters = await readLeaseRefusals(clientPaths(stateDir, 'eth1').refusalsFile);
    expect(counters).toMatchObject({ count: 1, byReason: { 'server-not-leader': 1 }, byServer: { '192.168.200.66': 1 } });
  });

  it('a rogue that claims the leader address as server id is still refused for its prefix', async () => {
    const runner = new FakeRunner().on('udhcpc', () => true, udhcpcBound(LEADER)).once('udhcpc', () => true, udhcpcBound(ROGUE_AS_LEADER));
    const client = udhcpc(runner);
    await client.obtain();
    expect((await client.refusals()).byReason).toEqual({ 'wrong-prefix': 1 });
    expect((await network.listAddresses('eth1')).map((a) => a.cidr)).toEqual(['192.168.200.101/24']);
  });

  it('only rogue offers until the timeout: DHCP_LEASE_REFUSED naming the rogue, nothing applied', async () => {
    const runner = new FakeRunner().on('udhcpc', () => true, udhcpcBound(ROGUE));
    const error = await udhcpc(runner)
      .obtain({ timeoutMs: 1000 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'DHCP_LEASE_REFUSED',
      servers: ['192.168.200.66'],
      hint: expect.stringContaining('192.168.200.66'),
    });
    expect(await network.listAddresses('eth1')).toEqual([]);
    expect((await readLeaseRefusals(clientPaths(stateDir, 'eth1').refusalsFile)).count).toBeGreaterThan(1);
  });

  it("accepts the leader's node address when the caller allows it (allowedServerIds)", async () => {
    const runner = new FakeRunner().on('udhcpc', () => true, udhcpcBound({ ...LEADER, serverid: '192.168.200.150' }));
    const lease = await udhcpc(runner, { allowedServerIds: ['192.168.200.150'] }).obtain();
    expect(lease.serverId).toBe('192.168.200.150');
  });

  it('the renewal client restarts when a rogue answered its DISCOVER; renewed() never returns a rogue lease', async () => {
    const paths = clientPaths(stateDir, 'eth1');
    const runner = new UnrealPidRunner().on('udhcpc', () => true, udhcpcBound(LEADER)).onSpawn('udhcpc', () => true);
    const client = udhcpc(runner);
    await client.obtain();
    let spawns = 0;
    const report = async () => {
      // The first renewal process hears the rogue first, the second the leader.
      const env = spawns++ === 0 ? ROGUE : LEADER;
      await mkdir(dirname(paths.renewalEventsFile), { recursive: true });
      await writeFile(paths.renewalEventsFile, `${JSON.stringify({ event: 'bound', at: at(), env })}\n`);
    };
    const waitForSpawn = async (n: number) => {
      while (runner.commands('spawn').length < n) await new Promise((r) => setTimeout(r, 10));
      await report();
    };
    const renewal = client.startRenewal();
    await waitForSpawn(1);
    await waitForSpawn(2);
    const handle = await renewal;
    expect(handle.started).toBe(true);
    expect(runner.commands('spawn')).toHaveLength(2);
    expect((await client.refusals()).count).toBe(1);
    // Later, a rebind answered by the rogue: reported by the hook, never "renewed", counted.
    await appendFile(paths.renewalEventsFile, `${JSON.stringify({ event: 'renew', at: at() + 1, env: ROGUE })}\n`);
    expect((await client.renewed())?.ip).toBe('192.168.200.101');
    expect(await client.refusals()).toMatchObject({ count: 2, byServer: { '192.168.200.66': 2 } });
  });

  it('dhclient rejects and dhcpcd blacklists the servers whose leases were refused', () => {
    const runner = new FakeRunner();
    const dhclient = new DhclientClient({ runner, network, config, link: 'eth1' });
    expect(dhclient.renderConf(5, ['192.168.200.66', '10.0.0.1'])).toContain('reject 192.168.200.66, 10.0.0.1;');
    expect(dhclient.renderConf(5)).not.toContain('reject');
    const dhcpcd = new DhcpcdClient({ runner, network, config, link: 'eth1' });
    expect(dhcpcd.renderConf(['192.168.200.66'])).toContain('\nblacklist 192.168.200.66\n');
  });

  it("dhclient: after a refused lease the next run rejects that server and gets the leader's lease", async () => {
    const paths = clientPaths(stateDir, 'eth1');
    const dhclientBound = (env: Record<string, string>) => async (call: FakeCall) => {
      const hook = call.args[call.args.indexOf('-sf') + 1] as string;
      const e = {
        new_ip_address: env.ip,
        new_subnet_mask: env.mask === '1' ? '128.0.0.0' : '255.255.255.0',
        new_dhcp_server_identifier: env.serverid,
        new_dhcp_lease_time: env.lease,
      };
      await appendFile(hookEventsFile(hook), `${JSON.stringify({ event: 'BOUND', at: at(), env: e })}\n`);
      return { exitCode: 0 };
    };
    const runner = new FakeRunner()
      .on('dhclient', { prefix: ['-r'] }, { exitCode: 0 })
      .on('dhclient', { prefix: ['-1'] }, dhclientBound(LEADER))
      .once('dhclient', { prefix: ['-1'] }, async (call) => {
        expect(await readFile(paths.extra('dhclient.conf'), 'utf8')).not.toContain('reject');
        return dhclientBound(ROGUE)(call);
      });
    const client = new DhclientClient({ runner, network, config, link: 'eth1' });
    await client.obtain();
    expect(await readFile(paths.extra('dhclient.conf'), 'utf8')).toContain('reject 192.168.200.66;');
    expect((await network.listAddresses('eth1')).map((a) => a.cidr)).toEqual(['192.168.200.101/24']);
  });
});
