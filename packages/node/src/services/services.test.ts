import { FakeRunner, InMemoryNetwork, parseConfig } from '@cluster-lab/core';
import { RogueDhcpServerError } from '@cluster-lab/dhcp';
import { describe, expect, it } from 'vitest';
import { serviceContext } from '../boot/service-context.js';
import { createNodeServices } from '../create-node-services.js';
import { nodeFacts } from '../node-facts.js';
import { startDhcpServer } from './dhcp-server.js';
import { electNode } from './election.js';

const LINK = { name: 'vx200', mac: '02:00:00:00:00:01', mtu: 1450 };

/** A node whose runner fails loudly on any command: these tests must not run a program. */
function context(network = new InMemoryNetwork().withLink('vx200', { mac: LINK.mac })) {
  const config = parseConfig({ stateDir: '/nonexistent/cl', network: { backend: 'vxlan' } });
  return serviceContext(nodeFacts(config, { runner: new FakeRunner(), network, hostname: 'pi1' }));
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
});
