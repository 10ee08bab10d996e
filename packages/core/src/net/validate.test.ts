import { describe, expect, it } from 'vitest';
import { ClusterLabError } from '../errors/cluster-lab-error.js';
import {
  assertCidr,
  assertInterfaceName,
  assertIpv4,
  assertMac,
  assertNetnsName,
  assertVlanId,
  cidrProblem,
  interfaceNameProblem,
  ipv4Problem,
  macProblem,
  netnsNameProblem,
  vlanIdProblem,
} from './validate.js';

describe('validation helpers', () => {
  it.each([
    ['eth0', undefined],
    ['eth0.200', undefined],
    ['vx200', undefined],
    ['veth0@x', undefined],
    ['br-lan_1', undefined],
    ['a'.repeat(15), undefined],
    ['', 'is empty'],
    ['a'.repeat(16), 'is 16 characters long; Linux allows at most 15'],
    ['.', 'is a reserved name'],
    ['..', 'is a reserved name'],
    ['eth0/1', 'may only contain letters, digits and . _ - @ (no "/", ":" or whitespace)'],
    ['eth0:1', 'is an address label (an alias address on "eth0"), not a link; use "eth0"'],
    ['eth0:', 'is an address label (an alias address on "eth0"), not a link; use "eth0"'],
    [':1', 'may only contain letters, digits and . _ - @ (no "/", ":" or whitespace)'],
    ['eth 0', 'may only contain letters, digits and . _ - @ (no "/", ":" or whitespace)'],
    ['eth%d', 'may only contain letters, digits and . _ - @ (no "/", ":" or whitespace)'],
  ])('interface name %j → %s', (name, problem) => {
    expect(interfaceNameProblem(name)).toBe(problem);
  });

  it.each([
    [1, undefined],
    [4094, undefined],
    [0, 'must be between 1 and 4094 (0 and 4095 are reserved by 802.1Q)'],
    [4095, 'must be between 1 and 4094 (0 and 4095 are reserved by 802.1Q)'],
    [1.5, 'must be a whole number'],
    ['200', 'must be a whole number'],
  ])('VLAN id %j → %s', (id, problem) => {
    expect(vlanIdProblem(id)).toBe(problem);
  });

  it.each([
    ['02:42:ac:11:00:02', undefined],
    ['B8:27:EB:00:00:01', undefined],
    ['02:42:ac:11:00', 'must look like aa:bb:cc:dd:ee:ff'],
    ['02-42-ac-11-00-02', 'must look like aa:bb:cc:dd:ee:ff'],
    ['02:42:ac:11:00:0g', 'must look like aa:bb:cc:dd:ee:ff'],
    ['00:00:00:00:00:00', 'is the all-zero address, which no NIC has'],
    ['ff:ff:ff:ff:ff:ff', 'is a multicast/broadcast address, not the address of a NIC'],
    ['01:00:5e:00:00:01', 'is a multicast/broadcast address, not the address of a NIC'],
  ])('MAC %j → %s', (mac, problem) => {
    expect(macProblem(mac)).toBe(problem);
  });

  it('checks CIDRs, addresses and namespace names', () => {
    expect(cidrProblem('192.168.200.0/24')).toBeUndefined();
    expect(cidrProblem('192.168.200.0')).toBe('must be an IPv4 CIDR like 192.168.200.0/24');
    expect(ipv4Problem('192.168.200.1')).toBeUndefined();
    expect(ipv4Problem('192.168.200.1/24')).toBe('must be an IPv4 address like 192.168.200.1');
    expect(netnsNameProblem('cl-node1-ab12c')).toBeUndefined();
    expect(netnsNameProblem('')).toBe('is empty');
    expect(netnsNameProblem('..')).toBe('is a reserved name');
    expect(netnsNameProblem('a/b')).toBe('may only contain letters, digits and . _ - (no "/" or whitespace)');
    expect(netnsNameProblem('n'.repeat(65))).toBe('is 65 characters long; use at most 64');
  });

  it('assert* throw a usage ClusterLabError naming the value and a hint', () => {
    const cases: [() => void, string, string][] = [
      [() => assertInterfaceName('eth0:1'), 'interface name "eth0:1" is an address label', 'use a name like eth0, eth0.200 or vx200'],
      [
        () => assertInterfaceName('x'.repeat(16), 'VLAN parent interface'),
        'VLAN parent interface "xxxxxxxxxxxxxxxx" is 16 characters long',
        'use a name like',
      ],
      [() => assertVlanId(4095), 'VLAN id 4095 must be between 1 and 4094', 'use a VLAN id such as 200'],
      [() => assertMac('zz'), 'MAC address "zz" must look like aa:bb:cc:dd:ee:ff', 'write it as six hex pairs'],
      [() => assertCidr('10.0.0.1'), 'address "10.0.0.1" must be an IPv4 CIDR', 'write address/prefix'],
      [() => assertIpv4('10.0.0'), 'address "10.0.0" must be an IPv4 address', 'write a dotted IPv4 address'],
      [() => assertNetnsName('a b'), 'network namespace name "a b" may only contain', 'use a name like node1'],
    ];
    for (const [fn, message, hint] of cases) {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ClusterLabError);
      expect((error as ClusterLabError).message).toContain(message);
      expect((error as ClusterLabError).hint).toContain(hint);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', errorClass: 'usage' });
    }
    expect(() => assertInterfaceName('eth0')).not.toThrow();
    expect(() => assertMac('02:42:ac:11:00:02')).not.toThrow();
  });
});
