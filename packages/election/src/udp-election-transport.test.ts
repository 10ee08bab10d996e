import { InMemoryNetwork, type ProgressEvent } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { linkLocalAddressFor } from './candidate.js';
import { UdpElectionTransport } from './udp-election-transport.js';

describe('UdpElectionTransport', () => {
  it('undoes the link-local address when the socket cannot be opened, and says which port/link', async () => {
    // The in-memory network "adds" the address but the host kernel does not have it, so binding fails —
    // the same path as a real port conflict.
    const mac = '02:00:00:00:00:2a';
    const network = new InMemoryNetwork().withLink('eth0', { mac });
    const events: ProgressEvent[] = [];
    const transport = new UdpElectionTransport({ network, port: 27_299, onEvent: (e) => events.push(e) });
    const cidr = `${linkLocalAddressFor(mac)}/16`;
    await expect(transport.open({ link: 'eth0', mac, onMessage: () => {} })).rejects.toMatchObject({
      code: 'ELECTION_SOCKET',
      message: expect.stringContaining(`cannot open the election socket on eth0 (${cidr}, UDP 27299)`),
      hint: 'check that no other program uses UDP port 27299 and that eth0 is up',
    });
    expect(await network.listAddresses()).toEqual([]);
    expect(events.map((e) => e.type === 'log' && e.message)).toEqual([
      `added ${cidr} to eth0 for the candidacy exchange`,
      `removed ${cidr} from eth0`,
    ]);
  });

  it('leaves an address it did not add in place', async () => {
    const mac = '02:00:00:00:00:2b';
    const network = new InMemoryNetwork().withLink('eth0', { mac });
    const cidr = `${linkLocalAddressFor(mac)}/16`;
    await network.addAddress('eth0', cidr);
    await expect(
      new UdpElectionTransport({ network, port: 27_298 }).open({ link: 'eth0', mac, onMessage: () => {} }),
    ).rejects.toMatchObject({
      code: 'ELECTION_SOCKET',
    });
    expect((await network.listAddresses()).map((a) => a.cidr)).toEqual([cidr]);
  });
});
