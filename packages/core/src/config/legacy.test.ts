import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLegacyClusterConf } from './legacy.js';
import { parseConfig } from './validate-config.js';

describe('parseLegacyClusterConf', () => {
  it('maps the original keys onto the new schema', () => {
    const { input, warnings, problems } = parseLegacyClusterConf(
      [
        '#!/bin/bash',
        '# comment',
        '',
        'INTERFACE="eth0"',
        "ENABLE_VLAN='true'",
        'VLAN_ID=200',
        'VLAN_NETWORK="192.168.200.0"',
        'VLAN_NETMASK="255.255.255.0"   # the cluster mask',
        'CLUSTER_LEADER_IP="192.168.200.1"',
        'export ENABLE_DHCP="yes"',
        'DHCP_RANGE_FROM="192.168.200.101"',
        'DHCP_RANGE_TO="192.168.200.200"',
        'DHCP_LEASE_TIME="12h"',
        'DHCP_BROADCAST="192.168.200.255"',
      ].join('\r\n'),
    );
    expect(problems).toEqual([]);
    expect(warnings).toEqual([]);
    expect(input).toEqual({
      interface: 'eth0',
      leaderAddress: '192.168.200.1',
      subnet: '192.168.200.0/24',
      network: { backend: 'vlan', vlanId: 200 },
      dhcp: { enabled: true, rangeStart: '192.168.200.101', rangeEnd: '192.168.200.200', leaseTime: '12h' },
    });
    expect(parseConfig(input).dhcp.leaseTime).toBe(43_200);
  });

  it('turns ENABLE_VLAN=false into the native backend and derives the subnet from a leader CIDR', () => {
    const { input } = parseLegacyClusterConf('ENABLE_VLAN=false\nVLAN_LEADER_IP=10.1.2.1/16\nENABLE_DHCP=off\nDHCP_LEASE_TIME=3600\n');
    expect(input).toEqual({
      leaderAddress: '10.1.2.1',
      subnet: '10.1.0.0/16',
      network: { backend: 'native' },
      dhcp: { enabled: false, leaseTime: 3600 },
    });
  });

  it('lets the last assignment of a key win, as the shell would', () => {
    expect(parseLegacyClusterConf('VLAN_ID=100\nVLAN_ID=300\n').input).toEqual({ network: { vlanId: 300 } });
  });

  it('keeps literal dollar signs only in single quotes', () => {
    expect(parseLegacyClusterConf("INTERFACE='$x'").problems).toEqual([]);
    expect(parseLegacyClusterConf('INTERFACE="$IFACE"').problems).toEqual([
      { path: 'INTERFACE', value: '$IFACE', message: 'uses shell expansion, which is not supported', hint: 'write the literal value' },
    ]);
    expect(parseLegacyClusterConf('INTERFACE=`ip route | cut -d" " -f5`').problems[0]?.path).toBe('line 1');
  });

  it('reports each bad line and value with the legacy key', () => {
    const { problems, warnings } = parseLegacyClusterConf(
      [
        'VLAN_ID="two hundred"',
        'ENABLE_VLAN=maybe',
        'VLAN_NETMASK=255.0.255.0',
        'CLUSTER_LEADER_IP=192.168.200.1/99',
        'rm -rf /',
        'FOO=bar',
      ].join('\n'),
    );
    expect(problems).toEqual([
      {
        path: 'line 5',
        value: 'rm -rf /',
        message: 'is not a KEY="value" line',
        hint: 'cluster.conf is read as data, not run as a shell script',
      },
      { path: 'VLAN_ID', value: 'two hundred', message: 'must be a whole number' },
      { path: 'ENABLE_VLAN', value: 'maybe', message: 'must be true or false', hint: 'write ENABLE_VLAN="true"' },
      {
        path: 'CLUSTER_LEADER_IP',
        value: '192.168.200.1/99',
        message: 'has an invalid prefix length',
        hint: 'write e.g. 192.168.200.1/24 or leave the prefix out',
      },
      { path: 'VLAN_NETMASK', value: '255.0.255.0', message: 'is not a valid netmask', hint: 'write e.g. 255.255.255.0' },
    ]);
    expect(warnings).toEqual(['cluster.conf: unknown key FOO ignored']);
  });

  it('reads the example cluster.conf shipped in examples/', () => {
    const text = readFileSync(new URL('../../../../examples/config/cluster.conf', import.meta.url), 'utf8');
    const { input, problems } = parseLegacyClusterConf(text);
    expect(problems).toEqual([]);
    expect(parseConfig(input)).toMatchObject({ interface: 'eth0', subnet: '192.168.200.0/24', network: { backend: 'vlan', vlanId: 200 } });
  });
});
