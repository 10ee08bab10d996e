import { describe, expect, it } from 'vitest';
import { cidrContains, intToIpv4, ipv4ToInt, isIpv4, netmaskToPrefix, parseCidr } from './ipv4.js';

describe('ipv4 helpers', () => {
  it.each([
    ['192.168.200.1', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['256.1.1.1', false],
    ['192.168.200', false],
    ['192.168.200.1.5', false],
    ['192.168.020.1', false],
    [' 192.168.200.1', false],
    ['192.168.200.1/24', false],
    ['', false],
  ])('isIpv4(%j) is %s', (value, expected) => {
    expect(isIpv4(value)).toBe(expected);
  });

  it('converts between dotted and integer form', () => {
    expect(ipv4ToInt('192.168.200.1')).toBe(3232286721);
    expect(ipv4ToInt('255.255.255.255')).toBe(2 ** 32 - 1);
    expect(intToIpv4(3232286721)).toBe('192.168.200.1');
    expect(intToIpv4(0)).toBe('0.0.0.0');
    expect(() => ipv4ToInt('1.2.3')).toThrow('not an IPv4 address: "1.2.3"');
  });

  it('parses CIDRs into network, broadcast and netmask', () => {
    expect(parseCidr('192.168.200.1/24')).toEqual({
      address: '192.168.200.1',
      prefix: 24,
      network: '192.168.200.0',
      broadcast: '192.168.200.255',
      netmask: '255.255.255.0',
    });
    expect(parseCidr('10.1.2.3/8')).toMatchObject({ network: '10.0.0.0', broadcast: '10.255.255.255', netmask: '255.0.0.0' });
    expect(parseCidr('10.1.2.3/32')).toMatchObject({ network: '10.1.2.3', broadcast: '10.1.2.3', netmask: '255.255.255.255' });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ network: '0.0.0.0', broadcast: '255.255.255.255', netmask: '0.0.0.0' });
    for (const bad of ['192.168.200.0', '192.168.200.0/33', '192.168.2000.0/24', '192.168.200.0/', '/24', '192.168.200.0/24/1', 'x/24']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it('tells whether an address lies in a CIDR (network and broadcast included)', () => {
    expect(cidrContains('192.168.200.0/24', '192.168.200.0')).toBe(true);
    expect(cidrContains('192.168.200.0/24', '192.168.200.255')).toBe(true);
    expect(cidrContains('192.168.200.0/24', '192.168.201.1')).toBe(false);
    expect(cidrContains(parseCidr('10.0.0.0/8') as NonNullable<ReturnType<typeof parseCidr>>, '10.200.1.1')).toBe(true);
    expect(cidrContains('bad', '10.0.0.1')).toBe(false);
    expect(cidrContains('10.0.0.0/8', 'bad')).toBe(false);
  });

  it('turns contiguous netmasks into prefixes', () => {
    expect(netmaskToPrefix('255.255.255.0')).toBe(24);
    expect(netmaskToPrefix('255.255.240.0')).toBe(20);
    expect(netmaskToPrefix('255.255.255.255')).toBe(32);
    expect(netmaskToPrefix('0.0.0.0')).toBe(0);
    expect(netmaskToPrefix('255.0.255.0')).toBeUndefined();
    expect(netmaskToPrefix('255.255.255')).toBeUndefined();
  });
});
