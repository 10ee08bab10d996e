import { FakeRunner, InMemoryNetwork, parseConfig } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { nodeFacts } from './node-facts.js';

describe('nodeFacts', () => {
  it('derives everything once from the config: prefix, leader CIDR, uplink, link, paths', () => {
    const config = parseConfig({
      stateDir: '/var/lib/cl',
      subnet: '10.42.0.0/16',
      leaderAddress: '10.42.0.1',
      dhcp: { rangeStart: '10.42.0.101', rangeEnd: '10.42.0.200' },
      network: { backend: 'vxlan' },
    });
    const node = nodeFacts(config, { runner: new FakeRunner(), network: new InMemoryNetwork(), hostname: 'pi1' });
    expect(node).toMatchObject({ config, hostname: 'pi1', prefix: 16, leaderCidr: '10.42.0.1/16', uplink: 'eth0', linkName: 'vx200' });
    expect(node.paths).toMatchObject({
      stateDir: '/var/lib/cl',
      journal: '/var/lib/cl/journal.json',
      supervisor: { pidFile: '/var/lib/cl/supervisor/supervisor.pid', configFile: '/var/lib/cl/supervisor/config.json' },
      consulRunDir: '/var/lib/cl/consul',
      consulDataDir: '/var/lib/cl/consul/data',
      dnsmasq: { leaseFile: '/var/lib/cl/dhcp/dnsmasq.leases' },
    });
    expect(node.paths.dhcpClient.dir.startsWith('/var/lib/cl/')).toBe(true);
  });

  it('has no uplink to keep DHCP off on the native backend (the cluster NIC is the link)', () => {
    const node = nodeFacts(parseConfig({ interface: 'eth1', network: { backend: 'native' } }), { runner: new FakeRunner() });
    expect(node.uplink).toBeUndefined();
    expect(node.linkName).toBe('eth1');
  });

  it('takes the node name from the config before the host name', () => {
    expect(nodeFacts(parseConfig({ hostname: 'pi7' }), { runner: new FakeRunner() }).hostname).toBe('pi7');
  });
});
