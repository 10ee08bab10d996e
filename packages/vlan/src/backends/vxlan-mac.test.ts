import { FakeRunner, InMemoryNetwork } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { VxlanBackend, vxlanMacFor } from './vxlan.js';

describe('vxlanMacFor', () => {
  it('is stable, locally administered and unicast, and differs per uplink and VNI', () => {
    const a = vxlanMacFor('DC:A6:32:01:02:03', 200);
    expect(a).toBe(vxlanMacFor('dc:a6:32:01:02:03', 200));
    expect(a).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const first = Number.parseInt(a.slice(0, 2), 16);
    expect(first & 0x02).toBe(0x02);
    expect(first & 0x01).toBe(0);
    expect(vxlanMacFor('dc:a6:32:01:02:04', 200)).not.toBe(a);
    expect(vxlanMacFor('dc:a6:32:01:02:03', 201)).not.toBe(a);
  });

  it('gives the VXLAN link the same MAC on every start, so DHCP hands out the same address', async () => {
    const network = new InMemoryNetwork().withLink('eth0', { mac: 'dc:a6:32:01:02:03' });
    const backend = () =>
      new VxlanBackend({ uplink: 'eth0', name: 'vx200', vni: 200, group: '239.1.1.200' }, { network, runner: new FakeRunner() });
    const first = await backend().ensure();
    await backend().teardown({ created: true, broughtUp: true });
    const second = await backend().ensure();
    expect(first.link.mac).toBe(vxlanMacFor('dc:a6:32:01:02:03', 200));
    expect(second.link.mac).toBe(first.link.mac);
  });
});
