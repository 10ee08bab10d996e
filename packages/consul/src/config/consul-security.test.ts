import { ClusterSecret, deriveClusterKeys, parseConfig } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { parseConsulVersion } from '../version/consul-version.js';
import { consulSecurity } from './consul-security.js';
import { nodeIdFromMachineId } from './node-id.js';
import { type ConsulConfigFacts, renderConsulConfig } from './render-consul-config.js';

const keys = deriveClusterKeys(ClusterSecret.fromBytes(Buffer.alloc(32, 7)));
const V1_8 = parseConsulVersion('Consul v1.8.7');
const V1_11 = parseConsulVersion('Consul v1.11.0');
const leader: ConsulConfigFacts = {
  role: 'leader',
  server: true,
  clusterAddress: '192.168.200.1',
  leaderAddress: '192.168.200.1',
  nodeName: 'pi1',
  nodeId: nodeIdFromMachineId('3d1219c7c4c5404aaa1f6d2a48adfda4'),
  dataDir: '/var/lib/cluster-lab/consul/data',
  version: V1_8,
};
const client: ConsulConfigFacts = { ...leader, role: 'follower', server: false, clusterAddress: '192.168.200.101', nodeName: 'pi2' };

describe('consulSecurity', () => {
  it('derives the gossip key, the management token and a per-node agent token from the secret', () => {
    const s = consulSecurity(parseConfig({}), keys, 'pi2');
    expect(s).toEqual({
      encrypt: keys.gossipKey,
      managementToken: keys.managementToken,
      agentToken: keys.agentToken('pi2'),
      source: { encrypt: 'secret', token: 'secret' },
    });
    expect(s.agentToken).not.toBe(keys.agentToken('pi3'));
  });

  it("the user's consul.encrypt and consul.aclToken win; that one token is every agent's token too", () => {
    const config = parseConfig({
      consul: { aclToken: 'f0e1d2c3-b4a5-4697-8877-665544332211', encrypt: 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=' },
    });
    expect(consulSecurity(config, keys, 'pi2')).toEqual({
      encrypt: 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=',
      managementToken: 'f0e1d2c3-b4a5-4697-8877-665544332211',
      agentToken: 'f0e1d2c3-b4a5-4697-8877-665544332211',
      source: { encrypt: 'config', token: 'config' },
    });
  });

  it('security: open and nothing configured: nothing', () => {
    expect(consulSecurity(parseConfig({ security: 'open' }), undefined, 'pi2')).toEqual({ source: { encrypt: 'none', token: 'none' } });
  });
});

describe('renderConsulConfig with derived secrets', () => {
  it('Consul 1.8: servers get acl.tokens.master + their own agent token, deny by default, tokens persisted, gossip encrypted', () => {
    const { config } = renderConsulConfig(parseConfig({}), leader, consulSecurity(parseConfig({}), keys, 'pi1'));
    expect(config.encrypt).toBe(keys.gossipKey);
    expect(config.primary_datacenter).toBe('cluster-lab');
    expect(config.acl).toEqual({
      enabled: true,
      default_policy: 'deny',
      enable_token_persistence: true,
      tokens: { master: keys.managementToken, agent: keys.agentToken('pi1') },
    });
  });

  it('Consul ≥ 1.11: initial_management instead of master', () => {
    const { config } = renderConsulConfig(parseConfig({}), { ...leader, version: V1_11 }, consulSecurity(parseConfig({}), keys, 'pi1'));
    expect(config.acl?.tokens).toEqual({ initial_management: keys.managementToken, agent: keys.agentToken('pi1') });
  });

  it('a client agent holds only its own agent token, never the management token', () => {
    const { json, config } = renderConsulConfig(parseConfig({}), client, consulSecurity(parseConfig({}), keys, 'pi2'));
    expect(config.acl?.tokens).toEqual({ agent: keys.agentToken('pi2') });
    expect(json).not.toContain(keys.managementToken);
  });

  it('without security the config alone decides (as before the secret existed)', () => {
    const { config } = renderConsulConfig(parseConfig({ security: 'open' }), leader);
    expect(config.acl).toBeUndefined();
    expect(config.encrypt).toBeUndefined();
  });
});
