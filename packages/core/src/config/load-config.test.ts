import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { deepMerge, envOverrides, loadConfig, readConfigFile } from './load-config.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-core-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

async function configErrorOf(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadConfig', () => {
  it('gives the original defaults with no file', async () => {
    const { config, sources, warnings } = await loadConfig({ searchDefaults: false });
    expect(sources).toEqual(['defaults']);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      interface: 'eth0',
      network: { backend: 'vlan', vlanId: 200, vxlan: { vni: 200, port: 4790, name: 'vx200', peers: [] } },
      subnet: '192.168.200.0/24',
      leaderAddress: '192.168.200.1',
      role: 'auto',
      dhcp: { enabled: true, rangeStart: '192.168.200.101', rangeEnd: '192.168.200.200', leaseTime: 3600, staticLeases: [], dns: [] },
      consul: { enabled: true, servers: 3, httpPort: 8500, exposeUi: false },
      swarm: { enabled: true, managers: 3, labels: {} },
      docker: { socket: '/var/run/docker.sock' },
      stateDir: '/var/lib/cluster-lab',
    });
  });

  it('reads YAML', async () => {
    const path = await file(
      'config.yaml',
      [
        'interface: eth1',
        'network:',
        '  backend: vxlan',
        '  vxlan:',
        '    peers: [10.0.0.2, 10.0.0.3]',
        'dhcp:',
        '  leaseTime: 12h',
        '  staticLeases:',
        '    - { mac: "B8:27:EB:00:00:02", ip: 192.168.200.2, hostname: pi2 }',
        '',
      ].join('\n'),
    );
    const { config, sources } = await loadConfig({ file: path });
    expect(sources).toEqual(['defaults', path]);
    expect(config.interface).toBe('eth1');
    expect(config.network.backend).toBe('vxlan');
    expect(config.network.vxlan.peers).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(config.dhcp.leaseTime).toBe(43_200);
    expect(config.dhcp.staticLeases).toEqual([{ mac: 'b8:27:eb:00:00:02', ip: '192.168.200.2', hostname: 'pi2' }]);
  });

  it('reads JSON and an empty YAML file', async () => {
    const json = await file('config.json', JSON.stringify({ role: 'leader', swarm: { managers: 1 }, consul: { servers: 1 } }));
    expect((await loadConfig({ file: json })).config).toMatchObject({ role: 'leader', swarm: { managers: 1 } });
    const empty = await file('empty.yaml', '# nothing set\n');
    expect((await loadConfig({ file: empty })).config.interface).toBe('eth0');
  });

  it('reads a legacy cluster.conf and warns about unknown keys', async () => {
    const path = await file(
      'cluster.conf',
      [
        '# original Cluster Lab settings',
        'INTERFACE="eth1"',
        'ENABLE_VLAN="true"',
        'VLAN_ID="300"',
        'VLAN_NETWORK="10.30.0.0"',
        'VLAN_NETMASK="255.255.0.0"',
        'CLUSTER_LEADER_IP="10.30.0.1"',
        'ENABLE_DHCP="true"',
        'DHCP_RANGE_FROM="10.30.1.1"',
        'DHCP_RANGE_TO="10.30.1.254"',
        'DHCP_LEASE_TIME="2h"',
        'DHCP_NETMASK="255.255.0.0"',
        'SWARM_PORT=2378',
      ].join('\n'),
    );
    const { config, warnings, sources } = await loadConfig({ file: path });
    expect(sources).toEqual(['defaults', path]);
    expect(config).toMatchObject({
      interface: 'eth1',
      network: { backend: 'vlan', vlanId: 300 },
      subnet: '10.30.0.0/16',
      leaderAddress: '10.30.0.1',
      dhcp: { enabled: true, rangeStart: '10.30.1.1', rangeEnd: '10.30.1.254', leaseTime: 7200 },
    });
    expect(warnings).toEqual(['cluster.conf: unknown key SWARM_PORT ignored']);
  });

  it('overlays CLUSTER_LAB_* environment variables on the file', async () => {
    const path = await file('env-base.yaml', 'interface: eth1\nnetwork:\n  vlanId: 300\n');
    const { config, sources } = await loadConfig({
      file: path,
      env: {
        CLUSTER_LAB_NETWORK__BACKEND: 'vxlan',
        CLUSTER_LAB_NETWORK__VXLAN__PEERS: '["10.0.0.2"]',
        CLUSTER_LAB_DHCP__RANGE_START: '192.168.200.50',
        CLUSTER_LAB_DHCP__ENABLED: 'true',
        CLUSTER_LAB_SWARM__LABELS: '{"zone":"desk"}',
        CLUSTER_LAB_PRIORITY: '200',
        PATH: '/usr/bin',
        CLUSTER_LAB_UNSET: undefined,
      },
    });
    expect(sources).toEqual(['defaults', path, 'env']);
    expect(config).toMatchObject({
      interface: 'eth1',
      priority: 200,
      network: { backend: 'vxlan', vlanId: 300, vxlan: { peers: ['10.0.0.2'] } },
      dhcp: { rangeStart: '192.168.200.50', enabled: true },
      swarm: { labels: { zone: 'desk' } },
    });
  });

  it('gives flags the last word, and ignores unset flags', async () => {
    const path = await file('flags.yaml', 'interface: eth1\nrole: follower\n');
    const { config, sources } = await loadConfig({
      file: path,
      env: { CLUSTER_LAB_INTERFACE: 'eth2', CLUSTER_LAB_ROLE: 'leader' },
      overrides: { interface: 'eth3', stateDir: undefined, network: { backend: 'native' } },
    });
    expect(sources).toEqual(['defaults', path, 'env', 'flags']);
    expect(config.interface).toBe('eth3');
    expect(config.role).toBe('leader');
    expect(config.network.backend).toBe('native');
    expect(config.stateDir).toBe('/var/lib/cluster-lab');
  });

  it('names the file and the sources in a validation error', async () => {
    const path = await file('bad.yaml', 'network:\n  vlanId: 5000\n');
    const error = await configErrorOf(loadConfig({ file: path, env: { CLUSTER_LAB_ROLE: 'boss' } }));
    expect(error.source).toBe(`${path} + env`);
    expect(error.message).toBe(
      [
        `invalid configuration in ${path} + env:`,
        '  - network.vlanId: 5000 must be between 1 and 4094 (use a VLAN id between 1 and 4094, e.g. 200)',
        '  - role: "boss" must be one of auto, leader, follower [set by CLUSTER_LAB_ROLE] (use auto, leader or follower)',
      ].join('\n'),
    );
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', errorClass: 'config', exitCode: 2 });
  });

  it('names env as the source when there is no file', async () => {
    const error = await configErrorOf(loadConfig({ searchDefaults: false, env: { CLUSTER_LAB_NETWORK__BACKEND: 'wifi' } }));
    expect(error.message.split('\n')[0]).toBe('invalid configuration in env:');
    expect(error.problems).toEqual([
      {
        path: 'network.backend',
        value: 'wifi',
        message: 'must be one of vlan, native, vxlan',
        hint: 'use vlan (default), native or vxlan',
        origin: 'CLUSTER_LAB_NETWORK__BACKEND',
      },
    ]);
  });

  it('says which legacy key, variable or flag set a bad value', async () => {
    const conf = await file('origins-cluster.conf', 'VLAN_ID="5000"\nDHCP_RANGE_FROM="192.168.200.101"\n');
    const error = await configErrorOf(
      loadConfig({
        file: conf,
        env: { CLUSTER_LAB_DHCP__STATIC_LEASES: '[{"mac":"zz","ip":"192.168.200.9"}]' },
        overrides: { consul: { servers: 0 } },
      }),
    );
    expect(error.problems.map((p) => [p.path, p.origin])).toEqual([
      ['network.vlanId', `VLAN_ID in ${conf}`],
      ['dhcp.staticLeases[0].mac', 'CLUSTER_LAB_DHCP__STATIC_LEASES'],
      ['consul.servers', 'a command-line flag'],
    ]);
    expect(error.message).toContain(`  - network.vlanId: 5000 must be between 1 and 4094 [set by VLAN_ID in ${conf}] (use a VLAN id`);
    const leader = await configErrorOf(loadConfig({ file: await file('leader-cluster.conf', 'CLUSTER_LEADER_IP="10.0.0.1"\n') }));
    expect(leader.problems.map((p) => [p.path, p.message, p.origin])).toEqual([
      ['leaderAddress', 'is outside the cluster subnet 192.168.200.0/24', expect.stringMatching(/^CLUSTER_LEADER_IP in /)],
    ]);
    const tiny = 'VLAN_NETWORK="10.0.0.0"\nVLAN_NETMASK="255.255.255.254"\nCLUSTER_LEADER_IP="10.0.0.1"\nENABLE_DHCP=false\n';
    const subnet = await configErrorOf(loadConfig({ file: await file('subnet-cluster.conf', tiny) }));
    expect(subnet.problems.map((p) => [p.path, p.value, p.origin])).toEqual([
      ['subnet', '10.0.0.0/31', expect.stringMatching(/^VLAN_NETWORK \+ VLAN_NETMASK in /)],
    ]);
  });

  it('leaves the program’s own variables (CLUSTER_LAB_DEBUG, CLUSTER_LAB_CONFIG, CLUSTER_LAB_DAEMON_LOGS) out of the config', async () => {
    const { config, sources } = await loadConfig({
      searchDefaults: false,
      env: { CLUSTER_LAB_DEBUG: '1', CLUSTER_LAB_CONFIG: '/nowhere.yaml', CLUSTER_LAB_DAEMON_LOGS: 'file' },
    });
    expect(config.interface).toBe('eth0');
    expect(sources).toEqual(['defaults']);
  });

  it('names the variable that gave a missing file', async () => {
    const missing = join(dir, 'from-env.yaml');
    const error = await configErrorOf(loadConfig({ file: missing, fileOrigin: 'CLUSTER_LAB_CONFIG' }));
    expect(error.problems.map((p) => [p.path, p.value, p.message])).toEqual([['CLUSTER_LAB_CONFIG', missing, 'does not exist']]);
  });

  it('fails clearly on a missing file', async () => {
    const missing = join(dir, 'nope.yaml');
    const error = await configErrorOf(loadConfig({ file: missing }));
    expect(error.problems).toEqual([
      { path: '--config', value: missing, message: 'does not exist', hint: 'pass the path of an existing YAML, JSON or cluster.conf file' },
    ]);
    expect(error.message).toBe(
      `invalid configuration:\n  - --config: "${missing}" does not exist (pass the path of an existing YAML, JSON or cluster.conf file)`,
    );
  });

  it('fails clearly on unparsable files and on a file that is not a mapping', async () => {
    const yaml = await file('broken.yaml', 'interface: [eth0\n');
    const yamlError = await configErrorOf(readConfigFile(yaml));
    expect(yamlError.problems[0]?.path).toBe('(file)');
    expect(yamlError.problems[0]?.message).toMatch(/^is not valid YAML: /);
    const dup = await file('dup.yaml', 'interface: eth0\ninterface: eth1\n');
    expect((await configErrorOf(readConfigFile(dup))).problems[0]?.message).toMatch(/^is not valid YAML: .*unique/);
    const json = await file('broken.json', '{"interface": ');
    expect((await configErrorOf(readConfigFile(json))).problems[0]?.message).toMatch(/^is not valid JSON: /);
    const list = await file('list.yaml', '- eth0\n');
    expect((await configErrorOf(readConfigFile(list))).problems).toEqual([
      { path: '(root)', value: ['eth0'], message: 'must be a mapping of fields', hint: 'start the file with e.g. `interface: eth0`' },
    ]);
  });

  it('reports every problem of a legacy file, naming the legacy keys', async () => {
    const path = await file('bad-cluster.conf', 'VLAN_ID="abc"\nENABLE_DHCP="maybe"\nINTERFACE=$(hostname)\nthis is not a line\n');
    const error = await configErrorOf(loadConfig({ file: path }));
    expect(error.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'INTERFACE: uses shell expansion, which is not supported',
      'line 4: is not a KEY="value" line',
      'VLAN_ID: must be a whole number',
      'ENABLE_DHCP: must be true or false',
    ]);
    expect(error.source).toBe(path);
  });
});

describe('envOverrides and deepMerge', () => {
  it('maps variable names onto camel-cased field paths and coerces values', () => {
    expect(
      envOverrides({
        CLUSTER_LAB_STATE_DIR: '/srv/cl',
        CLUSTER_LAB_NETWORK__VLAN_ID: '300',
        CLUSTER_LAB_CONSUL__ACL_TOKEN: 'secret',
        CLUSTER_LAB_CONSUL__EXPOSE_UI: 'false',
        CLUSTER_LAB_DHCP__DNS: '["192.168.200.1"]',
        CLUSTER_LAB_DHCP__ROUTER: '{not json',
        CLUSTER_LAB___BAD: 'x',
        CLUSTER_LAB_DEBUG: '1',
        CLUSTER_LAB_CONFIG: '/etc/cluster-lab/other.yaml',
        OTHER: 'y',
      }),
    ).toEqual({
      stateDir: '/srv/cl',
      network: { vlanId: 300 },
      consul: { aclToken: 'secret', exposeUi: false },
      dhcp: { dns: ['192.168.200.1'], router: '{not json' },
    });
  });

  it('coerces by the type of the target field, so numeric-looking strings stay strings', () => {
    expect(
      envOverrides({
        CLUSTER_LAB_HOSTNAME: '1234',
        CLUSTER_LAB_CONSUL__ACL_TOKEN: '12345',
        CLUSTER_LAB_CONSUL__DATACENTER: 'true',
        CLUSTER_LAB_NETWORK__MTU: '1450',
        CLUSTER_LAB_DHCP__LEASE_TIME: '12h',
        CLUSTER_LAB_PRIORITY: 'high',
      }),
    ).toEqual({
      hostname: '1234',
      consul: { aclToken: '12345', datacenter: 'true' },
      network: { mtu: 1450 },
      dhcp: { leaseTime: '12h' },
      priority: 'high',
    });
  });

  it('reports an env value of the wrong type against its field', async () => {
    const error = await configErrorOf(
      loadConfig({ searchDefaults: false, env: { CLUSTER_LAB_PRIORITY: 'high', CLUSTER_LAB_HOSTNAME: '1234' } }),
    );
    expect(error.problems).toEqual([{ path: 'priority', value: 'high', message: 'must be a number', origin: 'CLUSTER_LAB_PRIORITY' }]);
  });

  it('merges objects deeply, replaces arrays and skips undefined', () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: undefined, e: null })).toEqual({
      a: { b: 1, c: [3] },
      d: 1,
      e: null,
    });
  });
});
