import { parseConfig } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { parseConsulVersion } from '../version/consul-version.js';
import { nodeIdFromMachineId } from './node-id.js';
import { CONSUL_RETRY_INTERVAL, type ConsulConfigFacts, consulConfigDialect, renderConsulConfig } from './render-consul-config.js';

const NODE_ID = nodeIdFromMachineId('3d1219c7c4c5404aaa1f6d2a48adfda4');
const V1_8 = parseConsulVersion('Consul v1.8.7');
const V1_10 = parseConsulVersion('Consul v1.10.12');
const CURRENT = parseConsulVersion('Consul v1.20.1');
const leader: ConsulConfigFacts = {
  role: 'leader',
  server: true,
  clusterAddress: '192.168.200.1',
  leaderAddress: '192.168.200.1',
  nodeName: 'pi1',
  nodeId: NODE_ID,
  dataDir: '/var/lib/cluster-lab/consul/data',
  version: CURRENT,
};
const follower: ConsulConfigFacts = { ...leader, role: 'follower', server: false, clusterAddress: '192.168.200.101', nodeName: 'pi2' };

describe('renderConsulConfig', () => {
  it('renders the leader as a bootstrapping server bound to its cluster address (current Consul)', () => {
    const { config, json, warnings, httpAddress } = renderConsulConfig(parseConfig({}), leader);
    expect(config).toEqual({
      datacenter: 'cluster-lab',
      node_name: 'pi1',
      node_id: NODE_ID,
      data_dir: '/var/lib/cluster-lab/consul/data',
      server: true,
      bootstrap: true,
      bind_addr: '192.168.200.1',
      advertise_addr: '192.168.200.1',
      client_addr: '127.0.0.1 192.168.200.1',
      retry_join: [],
      retry_interval: '1s',
      performance: { raft_multiplier: 1, leave_drain_time: '1s' },
      ports: { http: 8500 },
      leave_on_terminate: true,
      skip_leave_on_interrupt: true,
      disable_update_check: true,
      ui_config: { enabled: true },
      log_level: 'INFO',
    });
    expect(JSON.parse(json)).toEqual(config);
    expect(json.endsWith('}\n')).toBe(true);
    expect(warnings).toEqual([]);
    expect(httpAddress).toBe('192.168.200.1:8500');
  });

  it('binds every node to its own node address and serves HTTP on the leader address too when asked', () => {
    const onNodeAddress = { ...leader, clusterAddress: '192.168.200.101', serveOnLeaderAddress: true };
    const { config } = renderConsulConfig(parseConfig({}), onNodeAddress);
    expect(config).toMatchObject({
      server: true,
      bootstrap: true,
      bind_addr: '192.168.200.101',
      advertise_addr: '192.168.200.101',
      client_addr: '127.0.0.1 192.168.200.101 192.168.200.1',
      retry_join: [],
    });
    const f = renderConsulConfig(parseConfig({}), { ...follower, clusterAddress: '192.168.200.102', serveOnLeaderAddress: true });
    expect(f.config.client_addr).toBe('127.0.0.1 192.168.200.102 192.168.200.1');
  });

  it('renders a leader that joins an existing cluster: no bootstrap, retry_join the servers, a client without a slot', () => {
    const joining = { ...leader, clusterAddress: '192.168.200.103', bootstrap: false, join: ['192.168.200.101', '192.168.200.102'] };
    const server = renderConsulConfig(parseConfig({}), joining).config;
    expect(server).toMatchObject({ server: true, retry_join: ['192.168.200.101', '192.168.200.102'] });
    expect(server.bootstrap).toBeUndefined();
    expect(server.bootstrap_expect).toBeUndefined();
    const client = renderConsulConfig(parseConfig({}), { ...joining, server: false }).config;
    expect(client.server).toBe(false);
    expect(client.bootstrap).toBeUndefined();
  });

  it('renders a follower client that retry-joins the leader, without bootstrap', () => {
    const { config } = renderConsulConfig(parseConfig({}), follower);
    expect(config.server).toBe(false);
    expect(config.bootstrap).toBeUndefined();
    expect(config.bootstrap_expect).toBeUndefined();
    expect(config.retry_join).toEqual(['192.168.200.1']);
    expect(config.retry_interval).toBe(CONSUL_RETRY_INTERVAL);
    expect(config.bind_addr).toBe('192.168.200.101');
    expect(config.advertise_addr).toBe('192.168.200.101');
    expect(config.client_addr).toBe('127.0.0.1 192.168.200.101');
    expect(config.ui_config).toEqual({ enabled: false });
  });

  it('renders a follower server (a claimed server slot) that joins and never bootstraps', () => {
    const { config } = renderConsulConfig(parseConfig({}), { ...follower, server: true });
    expect(config.server).toBe(true);
    expect(config.bootstrap).toBeUndefined();
    expect(config.bootstrap_expect).toBeUndefined();
    expect(config.retry_join).toEqual(['192.168.200.1']);
  });

  it('uses bootstrapExpect for an HA start and validates it against consul.servers', () => {
    const ha = renderConsulConfig(parseConfig({}), { ...leader, bootstrapExpect: 3 }).config;
    expect(ha.bootstrap_expect).toBe(3);
    expect(ha.bootstrap).toBeUndefined();
    expect(() =>
      renderConsulConfig(parseConfig({ consul: { servers: 1 }, swarm: { managers: 1 } }), { ...leader, bootstrapExpect: 3 }),
    ).toThrow('bootstrap_expect 3 must be between 1 and consul.servers (1)');
  });

  it('a leader taking over an existing cluster joins its servers instead of bootstrapping (Raft safety)', () => {
    const takeover = renderConsulConfig(parseConfig({}), {
      ...leader,
      bootstrap: false,
      join: ['192.168.200.101', '192.168.200.102'],
    }).config;
    expect(takeover.bootstrap).toBeUndefined();
    expect(takeover.bootstrap_expect).toBeUndefined();
    expect(takeover.server).toBe(true);
    expect(takeover.retry_join).toEqual(['192.168.200.101', '192.168.200.102']);
    expect(() => renderConsulConfig(parseConfig({}), { ...leader, bootstrap: false })).toThrow(
      'a leader that does not bootstrap needs the addresses of the Consul servers to join',
    );
    expect(() => renderConsulConfig(parseConfig({}), { ...follower, server: true, bootstrap: true })).toThrow(
      'only the leader may bootstrap the Consul cluster (a follower asked to)',
    );
    expect(() => renderConsulConfig(parseConfig({}), { ...leader, bootstrap: false, join: ['10.0.0.5'] })).toThrow(
      'join[0] 10.0.0.5 is outside the cluster subnet 192.168.200.0/24',
    );
  });

  it('adds the gossip key, datacenter and port from the config', () => {
    const key = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';
    const { config } = renderConsulConfig(parseConfig({ consul: { encrypt: key, datacenter: 'home', httpPort: 8600 } }), follower);
    expect(config.encrypt).toBe(key);
    expect(config.datacenter).toBe('home');
    expect(config.ports).toEqual({ http: 8600 });
  });

  it('enables ACLs with default deny when a token is configured (management token only on servers)', () => {
    const cfg = parseConfig({ consul: { aclToken: 'b1gs3cr3t' } });
    expect(renderConsulConfig(cfg, leader).config.acl).toEqual({
      enabled: true,
      default_policy: 'deny',
      enable_token_persistence: true,
      tokens: { initial_management: 'b1gs3cr3t', agent: 'b1gs3cr3t' },
    });
    expect(renderConsulConfig(cfg, leader).config.primary_datacenter).toBe('cluster-lab');
    expect(renderConsulConfig(cfg, follower).config.acl?.tokens).toEqual({ agent: 'b1gs3cr3t' });
    expect(renderConsulConfig(parseConfig({}), follower).config.acl).toBeUndefined();
  });

  it('exposeUi binds the HTTP API on 0.0.0.0 and warns', () => {
    const { config, warnings } = renderConsulConfig(parseConfig({ consul: { exposeUi: true } }), leader);
    expect(config.client_addr).toBe('0.0.0.0');
    expect(warnings).toEqual([
      'consul.exposeUi is set: the Consul HTTP API and UI listen on all addresses (0.0.0.0:8500), including the uplink/home LAN, without an ACL token',
    ]);
    expect(config.bind_addr).toBe('192.168.200.1');
  });

  it('refuses bind addresses outside the cluster subnet (docker0, uplink) and 0.0.0.0', () => {
    const cfg = parseConfig({});
    expect(() => renderConsulConfig(cfg, { ...follower, clusterAddress: '172.17.0.1' })).toThrow(
      'clusterAddress 172.17.0.1 is outside the cluster subnet 192.168.200.0/24',
    );
    expect(() => renderConsulConfig(cfg, { ...follower, clusterAddress: '0.0.0.0' })).toThrow(
      'clusterAddress "0.0.0.0" must be a concrete IPv4 address',
    );
    expect(() => renderConsulConfig(cfg, { ...follower, leaderAddress: '10.0.0.1' })).toThrow(
      'leaderAddress 10.0.0.1 is outside the cluster subnet',
    );
    try {
      renderConsulConfig(cfg, { ...follower, clusterAddress: '10.1.2.3' });
    } catch (error) {
      expect((error as { code: string; hint: string }).code).toBe('CONSUL_BAD_ADDRESS');
      expect((error as { hint: string }).hint).toBe('Consul must bind to the cluster link, never docker0 or the uplink');
    }
  });

  it('refuses a follower that still holds the leader address, bad node names and relative data dirs', () => {
    const cfg = parseConfig({});
    expect(() => renderConsulConfig(cfg, { ...follower, clusterAddress: '192.168.200.1' })).toThrow(
      'follower cluster address 192.168.200.1 equals the leader address',
    );
    expect(() => renderConsulConfig(cfg, { ...follower, nodeName: 'pi 2' })).toThrow('Consul node name "pi 2" must be a host name');
    expect(() => renderConsulConfig(cfg, { ...follower, dataDir: 'data' })).toThrow('Consul data dir "data" must be an absolute path');
  });

  it('is pure: same input, same output', () => {
    const cfg = parseConfig({});
    expect(renderConsulConfig(cfg, follower).json).toBe(renderConsulConfig(cfg, follower).json);
  });
});

describe('renderConsulConfig per Consul version band', () => {
  const key = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';
  const secure = parseConfig({ consul: { aclToken: 'b1gs3cr3t', encrypt: key } });
  const roles = { 'leader-server': leader, 'follower-server': { ...follower, server: true }, 'follower-client': follower };
  const bands = { '1.8': V1_8, '1.9-1.10': V1_10, '1.11+': CURRENT };

  it('picks the keys each band understands', () => {
    expect(consulConfigDialect(V1_8)).toEqual({ ui: 'ui', managementToken: 'master' });
    expect(consulConfigDialect(parseConsulVersion('1.9.0'))).toEqual({ ui: 'ui_config', managementToken: 'master' });
    expect(consulConfigDialect(V1_10)).toEqual({ ui: 'ui_config', managementToken: 'master' });
    expect(consulConfigDialect(parseConsulVersion('1.11.0-beta1'))).toEqual({ ui: 'ui_config', managementToken: 'initial_management' });
    expect(consulConfigDialect(CURRENT)).toEqual({ ui: 'ui_config', managementToken: 'initial_management' });
    const old = renderConsulConfig(secure, { ...leader, version: V1_8 }).config;
    expect(old.ui).toBe(true);
    expect(old.ui_config).toBeUndefined();
    expect(old.acl?.tokens).toEqual({ master: 'b1gs3cr3t', agent: 'b1gs3cr3t' });
    expect(renderConsulConfig(secure, { ...follower, version: V1_8 }).config.ui).toBe(false);
  });

  for (const [band, version] of Object.entries(bands)) {
    for (const [role, facts] of Object.entries(roles)) {
      it(`golden: Consul ${band}, ${role}, ACL + gossip encryption`, async () => {
        await expect(renderConsulConfig(secure, { ...facts, version }).json).toMatchFileSnapshot(`./fixtures/consul-${band}-${role}.json`);
      });
    }
  }

  it('refuses Consul older than 1.8, naming the version, its source and the fix', () => {
    expect(() => renderConsulConfig(parseConfig({}), { ...leader, version: parseConsulVersion('Consul v1.7.14') })).toThrow(
      expect.objectContaining({
        code: 'CONSUL_TOO_OLD',
        message: 'the Consul agent is Consul 1.7.14 (from consul version); Cluster Lab needs Consul 1.8 or newer',
        hint: expect.stringContaining('scripts/setup.sh'),
      }),
    );
  });
});

describe('nodeIdFromMachineId', () => {
  it('gives a stable UUID that does not reveal the machine id', () => {
    const id = nodeIdFromMachineId('3d1219c7c4c5404aaa1f6d2a48adfda4\n');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(nodeIdFromMachineId('3D1219C7C4C5404AAA1F6D2A48ADFDA4')).toBe(id);
    expect(id.replaceAll('-', '')).not.toContain('3d1219c7');
    expect(nodeIdFromMachineId('00000000000000000000000000000001')).not.toBe(id);
  });
  it('rejects malformed machine ids', () => {
    expect(() => nodeIdFromMachineId('xyz')).toThrow('machine id must be 32 hex digits (as in /etc/machine-id), got "xyz"');
  });
});
