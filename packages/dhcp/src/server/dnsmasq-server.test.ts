import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterConfig, type FakeCall, FakeRunner, InMemoryNetwork, parseConfig } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DhcpErrorCode, RogueDhcpServerError } from '../dhcp-errors.js';
import { hookEventsFile } from '../hook-script.js';
import { dnsmasqPaths } from '../state-paths.js';
import { dnsmasqServer } from './dnsmasq-server.js';

describe('DnsmasqServer (fakes)', () => {
  let stateDir: string;
  let config: ClusterConfig;
  let network: InMemoryNetwork;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'cl-dhcp-srv-unit-'));
    config = parseConfig({ stateDir });
    network = new InMemoryNetwork().withLink('eth0').withLink('eth1');
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('refuses to serve before the link holds an address in the cluster subnet', async () => {
    await network.addAddress('eth1', '10.0.0.5/24');
    const runner = new FakeRunner();
    await expect(dnsmasqServer({ runner, network, config, link: 'eth1', uplink: 'eth0' }).start()).rejects.toMatchObject({
      code: DhcpErrorCode.linkNotInSubnet,
      message: 'eth1 holds no address in the cluster subnet 192.168.200.0/24 (has: 10.0.0.5/24); dnsmasq could not serve the range',
      hint: 'add the leader address first, e.g. 192.168.200.1/24 on eth1',
    });
    expect(runner.calls).toEqual([]);
  });

  it('refuses a missing link with core’s LinkNotFoundError', async () => {
    await expect(dnsmasqServer({ runner: new FakeRunner(), network, config, link: 'vx200', uplink: 'eth0' }).start()).rejects.toMatchObject(
      {
        code: 'LINK_NOT_FOUND',
      },
    );
  });

  it('refuses to start when the probe finds another server, naming it, and starts nothing', async () => {
    await network.addAddress('eth1', '192.168.200.1/24');
    const runner = new FakeRunner().on(
      'udhcpc',
      () => true,
      async (call: FakeCall) => {
        const file = hookEventsFile(call.args[call.args.indexOf('-s') + 1] as string);
        await appendFile(file, `${JSON.stringify({ event: 'bound', at: 1, env: { ip: '192.168.200.160', serverid: '192.168.200.9' } })}\n`);
        return {};
      },
    );
    const server = dnsmasqServer({ runner, network, config, link: 'eth1', uplink: 'eth0', probe: { executable: 'udhcpc' } });
    const error = await server.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RogueDhcpServerError);
    expect(error).toMatchObject({
      code: DhcpErrorCode.rogueServer,
      serverId: '192.168.200.9',
      message: 'another DHCP server (192.168.200.9) already answers on eth1; refusing to start a second one',
    });
    expect(runner.commands('spawn')).toEqual([]);
    await expect(readFile(dnsmasqPaths(stateDir).confFile, 'utf8')).rejects.toThrow();
  });

  it('stop and leases are safe when nothing ever ran', async () => {
    const server = dnsmasqServer({ runner: new FakeRunner(), network, config, link: 'eth1', uplink: 'eth0' });
    expect(await server.stop()).toBe(false);
    expect(await server.leases()).toEqual([]);
    expect(await server.pid()).toBeUndefined();
  });

  it('rejects serving on the uplink at construction', () => {
    expect(() => dnsmasqServer({ runner: new FakeRunner(), network, config, link: 'eth0', uplink: 'eth0' })).toThrow(
      expect.objectContaining({ code: DhcpErrorCode.invalidLink }),
    );
  });
});
