import { FakeRunner, InMemoryNetwork, parseConfig } from '@cluster-lab/core';
import { RogueDhcpServerError } from '@cluster-lab/dhcp';
import { describe, expect, it } from 'vitest';
import { serviceContext } from '../boot/service-context.js';
import { createNodeServices } from '../create-node-services.js';
import { nodeFacts } from '../node-facts.js';
import { startDhcpServer } from './dhcp-server.js';
import { electNode } from './election.js';
import { tuneKernel } from './kernel-settings.js';
import { type LeaderDutyEntry, releaseLeaderDuties, takeLeaderDuties } from './leader-duties.js';

const LINK = { name: 'vx200', mac: '02:00:00:00:00:01', mtu: 1450 };

/** A node whose runner fails loudly on any command not scripted: these tests must not run a program by accident. */
function context(
  network = new InMemoryNetwork().withLink('vx200', { mac: LINK.mac }),
  runner = new FakeRunner(),
  extra: Record<string, unknown> = {},
) {
  const config = parseConfig({ stateDir: '/nonexistent/cl', network: { backend: 'vxlan' }, ...extra });
  return serviceContext(nodeFacts(config, { runner, network, hostname: 'pi1' }));
}

describe('node services', () => {
  it('election: a leader that already holds the address runs no election and starts no DHCP probe', async () => {
    const network = new InMemoryNetwork().withLink('vx200', { mac: LINK.mac });
    await network.addAddress('vx200', '192.168.200.1/24');
    expect(await electNode(context(network), LINK)).toEqual({ role: 'leader', claimed: false, candidates: 1 });
  });

  it("DHCP server: refuses to serve when the election's probe heard another DHCP server, before running anything", async () => {
    const election = { role: 'leader' as const, claimed: true, candidates: 2, dhcpProbe: Promise.resolve({ serverId: '192.168.200.254' }) };
    await expect(startDhcpServer(context(), LINK, election)).rejects.toBeInstanceOf(RogueDhcpServerError);
    await expect(startDhcpServer(context(), LINK, election)).rejects.toMatchObject({
      code: 'DHCP_ROGUE_SERVER',
      serverId: '192.168.200.254',
    });
  });

  it('supervisor: without a launch command, start says how to give one', () => {
    expect(() => createNodeServices().startSupervisor(context())).toThrow(
      expect.objectContaining({ code: 'SUPERVISOR_NOT_CONFIGURED', errorClass: 'usage' }),
    );
  });

  it('kernel settings: non-local bind for the leader address, promote_secondaries on the cluster link, one cat and one tee', async () => {
    const runner = new FakeRunner().on('cat', () => true, { stdout: '0\n0\n' }).on('tee', () => true, {});
    const changes = await tuneKernel(context(undefined, runner), LINK);
    expect(changes).toEqual([
      { key: 'net.ipv4.ip_nonlocal_bind', previous: '0', value: '1' },
      { key: 'net/ipv4/conf/vx200/promote_secondaries', previous: '0', value: '1' },
    ]);
    expect(runner.commands()).toEqual([
      'cat /proc/sys/net/ipv4/ip_nonlocal_bind /proc/sys/net/ipv4/conf/vx200/promote_secondaries',
      'tee /proc/sys/net/ipv4/ip_nonlocal_bind /proc/sys/net/ipv4/conf/vx200/promote_secondaries',
    ]);
  });

  it('leader duties: journals the claimed leader address first, so a refused DHCP start still rolls it back', async () => {
    const network = new InMemoryNetwork().withLink('vx200', { mac: LINK.mac });
    await network.addAddress('vx200', '192.168.200.1/24');
    const ctx = context(network);
    const recorded: LeaderDutyEntry[] = [];
    const election = { claimed: true, dhcpProbe: Promise.resolve({ serverId: '192.168.200.254' }) };
    await expect(
      takeLeaderDuties(ctx.node, { link: LINK, election, nodeAddress: '192.168.200.101', record: async (e) => void recorded.push(e) }),
    ).rejects.toMatchObject({ code: 'DHCP_ROGUE_SERVER' });
    expect(recorded).toEqual([{ kind: 'leader-address', key: '192.168.200.1/24', data: { link: 'vx200', cidr: '192.168.200.1/24' } }]);
    await releaseLeaderDuties(ctx.node, recorded);
    expect((await network.listAddresses('vx200')).map((a) => a.cidr)).toEqual([]);
    await releaseLeaderDuties(ctx.node, recorded); // safe to repeat
  });

  it('leader duties without DHCP: only the leader address, returned for releaseLeaderDuties', async () => {
    const ctx = context(undefined, new FakeRunner(), { dhcp: { enabled: false } });
    const duties = await takeLeaderDuties(ctx.node, { link: LINK, election: { claimed: true } });
    expect(duties).toEqual({
      entries: [{ kind: 'leader-address', key: '192.168.200.1/24', data: { link: 'vx200', cidr: '192.168.200.1/24' } }],
    });
    expect(await takeLeaderDuties(ctx.node, { link: LINK, election: { claimed: false } })).toEqual({ entries: [] });
  });
});
