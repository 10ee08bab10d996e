import { parseConfig } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { toLease } from './lease.js';
import { LEASE_REFUSAL_REASONS, leasePolicy, validateLease } from './validate-lease.js';

const MAC = 'b8:27:eb:00:00:02';
const config = parseConfig({ dhcp: { staticLeases: [{ mac: 'B8:27:EB:00:00:09', ip: '192.168.200.9' }] } });
const policy = leasePolicy(config, ['192.168.200.101']);
const lease = (fields: Partial<{ ip: string; prefix: number; serverId: string; mac: string }> = {}) => ({
  ip: '192.168.200.150',
  prefix: 24,
  serverId: '192.168.200.1',
  mac: MAC,
  ...fields,
});

describe('validateLease', () => {
  it('accepts a lease in the range from the leader address or the authenticated leader node address', () => {
    expect(validateLease(lease(), policy)).toEqual({ ok: true });
    expect(validateLease(lease({ serverId: '192.168.200.101' }), policy)).toEqual({ ok: true });
    expect(validateLease(lease({ ip: '192.168.200.101' }), policy)).toEqual({ ok: true });
    expect(validateLease(lease({ ip: '192.168.200.200' }), policy)).toEqual({ ok: true });
  });

  it("refuses the issue's rogue lease: mask 128.0.0.0 (192.168.200.50/1)", () => {
    const rogue = toLease(
      { ip: '192.168.200.150', mask: '128.0.0.0', serverId: '192.168.200.1', leaseSeconds: '3600' },
      MAC,
      new Date(0),
      'udhcpc',
    );
    expect(rogue.prefix).toBe(1);
    expect(validateLease(rogue, policy)).toEqual({
      ok: false,
      reason: 'wrong-prefix',
      message: "refused DHCP lease 192.168.200.150/1 from 192.168.200.1: prefix /1 is not the cluster subnet's /24 (192.168.200.0/24)",
    });
  });

  it('refuses a lease from a server that is not the authenticated leader, even inside the subnet', () => {
    expect(validateLease(lease({ serverId: '192.168.200.77' }), policy)).toEqual({
      ok: false,
      reason: 'server-not-leader',
      message:
        'refused DHCP lease 192.168.200.150/24 from 192.168.200.77: the server is not the authenticated leader (192.168.200.1 or 192.168.200.101): a rogue DHCP server?',
    });
    // Without an authenticated leader node address only the leader address serves.
    expect(validateLease(lease({ serverId: '192.168.200.101' }), leasePolicy(config))).toMatchObject({ reason: 'server-not-leader' });
    expect(validateLease(lease({ serverId: '' }), policy)).toMatchObject({ reason: 'no-server-id' });
  });

  it.each([
    ['outside the subnet', { ip: '10.0.0.5' }, 'outside-subnet'],
    ['the leader address', { ip: '192.168.200.1' }, 'reserved-address'],
    ['the network address', { ip: '192.168.200.0' }, 'reserved-address'],
    ['the broadcast address', { ip: '192.168.200.255' }, 'reserved-address'],
    ['below the range', { ip: '192.168.200.50' }, 'outside-range'],
    ['above the range', { ip: '192.168.200.201' }, 'outside-range'],
    ["another node's static lease", { ip: '192.168.200.9' }, 'static-for-other-mac'],
    ['a /16 inside the subnet', { prefix: 16 }, 'wrong-prefix'],
    ['a /32', { prefix: 32 }, 'wrong-prefix'],
    ['an invalid address', { ip: '192.168.200' }, 'malformed'],
  ])('refuses %s', (_, fields, reason) => {
    const verdict = validateLease(lease(fields), policy);
    expect(verdict).toMatchObject({ ok: false, reason });
    expect(LEASE_REFUSAL_REASONS).toContain(reason);
  });

  it('accepts the static lease of this MAC outside the range (case-insensitive MAC)', () => {
    expect(validateLease(lease({ ip: '192.168.200.9', mac: 'b8:27:eb:00:00:09' }), policy)).toEqual({ ok: true });
    expect(validateLease(lease({ ip: '192.168.200.9', mac: 'B8:27:EB:00:00:09' }), policy)).toEqual({ ok: true });
  });

  it('builds the policy from the config', () => {
    expect(policy).toEqual({
      subnet: '192.168.200.0/24',
      rangeStart: '192.168.200.101',
      rangeEnd: '192.168.200.200',
      staticLeases: [{ mac: 'b8:27:eb:00:00:09', ip: '192.168.200.9' }],
      serverAddresses: ['192.168.200.1', '192.168.200.101'],
      leaderAddress: '192.168.200.1',
    });
  });
});
