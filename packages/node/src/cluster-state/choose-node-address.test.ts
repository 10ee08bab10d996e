import { describe, expect, it } from 'vitest';
import { chooseNodeAddress, type NodeAddressInput } from './choose-node-address.js';

const MAC = '02:00:00:00:00:01';
const base: NodeAddressInput = {
  rangeStart: '192.168.200.101',
  rangeEnd: '192.168.200.105',
  leaderAddress: '192.168.200.1',
  mac: MAC,
  leases: [],
  reservations: [],
};

describe('chooseNodeAddress', () => {
  it('takes the lowest address of the range on a first boot', () => {
    expect(chooseNodeAddress(base)).toBe('192.168.200.101');
  });

  it('takes the address it had before when nobody else holds it', () => {
    expect(chooseNodeAddress({ ...base, previous: '192.168.200.104', leases: [{ mac: '02:00:00:00:00:02', ip: '192.168.200.101' }] })).toBe(
      '192.168.200.104',
    );
  });

  it('skips addresses leased or reserved for another MAC, and those another host answered ARP for', () => {
    const input = {
      ...base,
      previous: '192.168.200.101',
      leases: [{ mac: '02:00:00:00:00:02', ip: '192.168.200.101' }],
      reservations: [{ mac: '02:00:00:00:00:03', ip: '192.168.200.102' }],
      taken: new Set(['192.168.200.103']),
    };
    expect(chooseNodeAddress(input)).toBe('192.168.200.104');
  });

  it('prefers a static lease for its own MAC, then its own lease, over the lowest free address', () => {
    expect(chooseNodeAddress({ ...base, reservations: [{ mac: MAC.toUpperCase(), ip: '192.168.200.50' }] })).toBe('192.168.200.50');
    expect(chooseNodeAddress({ ...base, leases: [{ mac: MAC, ip: '192.168.200.103' }] })).toBe('192.168.200.103');
  });

  it('never takes the leader address, and gives up when the range is full', () => {
    expect(chooseNodeAddress({ ...base, rangeStart: '192.168.200.1', rangeEnd: '192.168.200.2' })).toBe('192.168.200.2');
    const full = ['101', '102', '103', '104', '105'].map((n, i) => ({ mac: `02:00:00:00:01:0${i}`, ip: `192.168.200.${n}` }));
    expect(chooseNodeAddress({ ...base, leases: full })).toBeUndefined();
  });

  it('ignores a previous address outside the (changed) range', () => {
    expect(chooseNodeAddress({ ...base, previous: '192.168.200.150' })).toBe('192.168.200.101');
  });
});
