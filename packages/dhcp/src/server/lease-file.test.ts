import { describe, expect, it } from 'vitest';
import { parseLeaseFile } from './lease-file.js';

describe('parseLeaseFile', () => {
  it('parses real dnsmasq 2.90 lease lines (client-id, "*" fields, infinite expiry)', () => {
    const text = [
      '1795625004 6e:23:e6:b9:44:12 192.168.200.111 * 01:6e:23:e6:b9:44:12',
      '1795625010 B8:27:EB:00:00:01 192.168.200.50 pinned 01:b8:27:eb:00:00:01',
      '0 b8:27:eb:00:00:02 192.168.200.51 pi2 *',
      '',
    ].join('\n');
    expect(parseLeaseFile(text)).toEqual([
      { mac: '6e:23:e6:b9:44:12', ip: '192.168.200.111', clientId: '01:6e:23:e6:b9:44:12', expiresAt: new Date(1795625004000) },
      {
        mac: 'b8:27:eb:00:00:01',
        ip: '192.168.200.50',
        hostname: 'pinned',
        clientId: '01:b8:27:eb:00:00:01',
        expiresAt: new Date(1795625010000),
      },
      { mac: 'b8:27:eb:00:00:02', ip: '192.168.200.51', hostname: 'pi2', expiresAt: null },
    ]);
  });

  it('skips the DHCPv6 section, torn and malformed lines', () => {
    const text = [
      '1795625004 6e:23:e6:b9:44:12 192.168.200.111 node2 *',
      'duid 00:01:00:01:2c:8a:11:22:6e:23:e6:b9:44:12',
      '1795625004 305419896 fd00::5 node2 00:01:00:01:2c:8a:11:22:6e:23:e6:b9:44:12',
      'garbage',
      'x 6e:23:e6:b9:44:13 192.168.200.112 * *',
      '1795625004 not-a-mac 192.168.200.113 * *',
      '1795625004 6e:23:e6:b9:44:14 192.168',
    ].join('\n');
    expect(parseLeaseFile(text).map((l) => l.ip)).toEqual(['192.168.200.111']);
  });

  it('returns nothing for an empty file', () => {
    expect(parseLeaseFile('')).toEqual([]);
  });
});
