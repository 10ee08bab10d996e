import { type ClusterConfig, IpRoute2, parseConfig } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { BackendError } from './backends/backend-error.js';
import { NativeBackend } from './backends/native.js';
import { VlanBackend } from './backends/vlan.js';
import { VxlanBackend } from './backends/vxlan.js';
import { createBackend } from './create-backend.js';
import { FakeIpNode } from './testing/fake-ip-node.js';

const node = new FakeIpNode();
const deps = { network: new IpRoute2(node.runner), runner: node.runner };

describe('createBackend', () => {
  it('defaults to the vlan backend: eth0.200', () => {
    const backend = createBackend(parseConfig({}), deps);
    expect(backend).toBeInstanceOf(VlanBackend);
    expect(backend).toMatchObject({ kind: 'vlan', linkName: 'eth0.200', uplink: 'eth0', id: 200, mtu: undefined });
  });

  it('vlan: id, MTU and an explicit link name for long uplink names', () => {
    // core's config check refuses such an interface for vlan without network.vlanName, so a
    // caller passing `linkName` builds the config past that check.
    const config: ClusterConfig = { ...parseConfig({ network: { vlanId: 42, mtu: 1400 } }), interface: 'enx0123456789ab' };
    const backend = createBackend(config, { ...deps, linkName: 'vlan42' });
    expect(backend).toMatchObject({ kind: 'vlan', linkName: 'vlan42', uplink: 'enx0123456789ab', id: 42, mtu: 1400 });
  });

  it('vlan: network.vlanName names the link; the linkName option overrides it', () => {
    const config = parseConfig({ interface: 'enx0123456789a', network: { vlanId: 42, vlanName: 'cl42' } });
    expect(createBackend(config, deps)).toMatchObject({ kind: 'vlan', linkName: 'cl42', uplink: 'enx0123456789a', id: 42 });
    expect(createBackend(config, { ...deps, linkName: 'other42' })).toMatchObject({ linkName: 'other42' });
  });

  it('vlan: a long uplink without linkName fails at once with VLAN_NAME_TOO_LONG', () => {
    const config: ClusterConfig = { ...parseConfig({}), interface: 'enx0123456789ab' };
    expect(() => createBackend(config, deps)).toThrow(expect.objectContaining({ code: 'VLAN_NAME_TOO_LONG' }));
  });

  it('native: the configured interface is the cluster link', () => {
    const backend = createBackend(parseConfig({ interface: 'eth1', network: { backend: 'native' } }), deps);
    expect(backend).toBeInstanceOf(NativeBackend);
    expect(backend).toMatchObject({ kind: 'native', linkName: 'eth1', uplink: 'eth1' });
  });

  it('vxlan: defaults vx200, VNI 200, port 4790, group 239.1.1.200, MTU 1450', () => {
    const backend = createBackend(parseConfig({ network: { backend: 'vxlan' } }), deps);
    expect(backend).toBeInstanceOf(VxlanBackend);
    expect(backend).toMatchObject({
      kind: 'vxlan',
      linkName: 'vx200',
      uplink: 'eth0',
      vni: 200,
      port: 4790,
      group: '239.1.1.200',
      peers: [],
      mtu: 1450,
    });
  });

  it('vxlan: static peers replace the default group; network.mtu applies', () => {
    const config = parseConfig({
      network: { backend: 'vxlan', mtu: 1400, vxlan: { vni: 4242, name: 'vxc', peers: ['192.168.1.11', '192.168.1.12'] } },
    });
    expect(createBackend(config, deps)).toMatchObject({
      linkName: 'vxc',
      vni: 4242,
      group: undefined,
      peers: ['192.168.1.11', '192.168.1.12'],
      mtu: 1400,
    });
  });

  it('validates values that bypassed the config schema', () => {
    const config = parseConfig({});
    const bad = { ...config, network: { ...config.network, vlanId: 4095 } } as ClusterConfig;
    expect(() => createBackend(bad, deps)).toThrow(expect.objectContaining({ code: 'INVALID_VLAN_ID' }));
  });

  it('rejects an unknown backend with UNKNOWN_BACKEND', () => {
    const config = parseConfig({});
    const bad = { ...config, network: { ...config.network, backend: 'macvlan' } } as unknown as ClusterConfig;
    let error: unknown;
    try {
      createBackend(bad, deps);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({
      code: 'UNKNOWN_BACKEND',
      message: 'network.backend "macvlan" is not a known backend',
      hint: 'use vlan (default), native or vxlan',
    });
  });
});
