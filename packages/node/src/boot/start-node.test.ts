import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError, type ClusterConfig, InMemoryClusterStore, type ProgressEvent, parseConfig } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFacts } from '../node-facts.js';
import type { NodeServices, PreparedConsul, RunningConsul } from '../node-services.js';
import type { LeaderDutyEntry } from '../services/leader-duties.js';
import { startNode } from './start-node.js';
import { stopNode } from './stop-node.js';

/** Records what each service call did; state makes every call idempotent like the real ones. */
function fakeServices(role: 'leader' | 'follower', failAt?: keyof NodeServices, onCall?: (name: string) => void) {
  const log: string[] = [];
  const state = {
    link: false,
    sysctl: false,
    leader: false,
    nodeAddress: false,
    dnsmasq: false,
    lease: false,
    consul: false,
    swarm: false,
    supervisor: false,
  };
  const store = new InMemoryClusterStore();
  const call = (name: keyof NodeServices) => {
    log.push(name);
    onCall?.(name);
    if (name === failAt) throw new Error(`${name} exploded`);
  };
  const running: RunningConsul = { store, servers: async () => ['192.168.200.101'], close: () => {} };
  const services: NodeServices = {
    preflight: async () => call('preflight'),
    ensureLink: async () => {
      call('ensureLink');
      const created = !state.link;
      state.link = true;
      return { name: 'vx200', mac: '02:00:00:00:00:01', mtu: 1450, created, broughtUp: created };
    },
    teardownLink: async () => {
      call('teardownLink');
      state.link = false;
    },
    tuneKernel: async () => {
      call('tuneKernel');
      if (state.sysctl) return [];
      state.sysctl = true;
      return [{ key: 'net.ipv4.ip_nonlocal_bind', previous: '0', value: '1' }];
    },
    restoreKernelSetting: async () => {
      call('restoreKernelSetting');
      state.sysctl = false;
    },
    prepareConsul: async () => {
      call('prepareConsul');
      return {} as PreparedConsul;
    },
    elect: async () => {
      call('elect');
      if (role === 'follower') return { role, claimed: false, candidates: 3 };
      const claimed = !state.leader;
      state.leader = true;
      return { role, claimed, candidates: 3 };
    },
    releaseLeaderAddress: async () => {
      call('releaseLeaderAddress');
      state.leader = false;
    },
    assignNodeAddress: async () => {
      call('assignNodeAddress');
      const added = !state.nodeAddress;
      state.nodeAddress = true;
      return { ip: '192.168.200.101', cidr: '192.168.200.101/24', added };
    },
    releaseNodeAddress: async () => {
      call('releaseNodeAddress');
      state.nodeAddress = false;
    },
    takeLeaderDuties: async (_ctx, args) => {
      call('takeLeaderDuties');
      const entries: LeaderDutyEntry[] = [];
      if (args.election.claimed)
        entries.push({ kind: 'leader-address', key: '192.168.200.1/24', data: { link: 'vx200', cidr: '192.168.200.1/24' } });
      const started = !state.dnsmasq;
      state.dnsmasq = true;
      if (started)
        entries.push({ kind: 'dhcp-server', key: '/state/dnsmasq.pid', data: { pidFile: '/state/dnsmasq.pid', started, link: 'vx200' } });
      for (const e of entries) await args.record(e);
      return { entries };
    },
    stopDhcpServer: async () => {
      call('stopDhcpServer');
      state.dnsmasq = false;
    },
    obtainLease: async () => {
      call('obtainLease');
      const added = !state.lease;
      state.lease = true;
      return { cidr: '192.168.200.102/24', ip: '192.168.200.102', serverId: '192.168.200.1', added };
    },
    releaseLease: async () => {
      call('releaseLease');
      state.lease = false;
    },
    discoverCluster: async () => {
      call('discoverCluster');
      return { decision: 'bootstrap', reason: 'no-candidates', candidates: [], durationMs: 0 };
    },
    beginConsul: async (_ctx, args) => {
      call('beginConsul');
      const started = !state.consul;
      state.consul = true;
      const bootstrap = args.role === 'leader' && args.discovery?.decision === 'bootstrap';
      return {
        outcome: { server: true, ref: { pidFile: '/state/consul.pid' }, started },
        bootstrap,
        join: bootstrap ? [] : ['192.168.200.101'],
        ...(bootstrap ? {} : { clusterId: 'c-1' }),
        running: async () => running,
      };
    },
    stopConsul: async () => {
      call('stopConsul');
      state.consul = false;
    },
    registerCluster: async () => {
      call('registerCluster');
      return { clusterId: 'c-1', createdAt: '', consulServers: 3, managers: 3 };
    },
    joinSwarm: async () => {
      call('joinSwarm');
      const joined = !state.swarm;
      state.swarm = true;
      return { role: 'manager', nodeId: 'abcdef1234567890', joined, clusterId: 'swarm-1' };
    },
    leaveSwarm: async () => {
      call('leaveSwarm');
      state.swarm = false;
    },
    startSupervisor: async () => {
      call('startSupervisor');
      const started = !state.supervisor;
      state.supervisor = true;
      return { pidFile: '/state/supervisor.pid', started };
    },
    stopSupervisor: async () => {
      call('stopSupervisor');
      state.supervisor = false;
    },
    forceCleanup: async () => {
      call('forceCleanup');
      return [];
    },
    purgeState: async () => {
      call('purgeState');
      return ['dhcp.leases'];
    },
  };
  return { services, log, state };
}

const ALL_DOWN = {
  link: false,
  sysctl: false,
  leader: false,
  nodeAddress: false,
  dnsmasq: false,
  lease: false,
  consul: false,
  swarm: false,
  supervisor: false,
};

describe('startNode / stopNode', () => {
  let dir: string;
  let config: ClusterConfig;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-boot-'));
    config = parseConfig({ stateDir: dir, network: { backend: 'vxlan' } });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the leader flow in order and journals every change', async () => {
    const { services, log } = fakeServices('leader');
    const events: ProgressEvent[] = [];
    const result = await startNode(nodeFacts(config, { hostname: 'pi1' }), { services, onEvent: (e) => events.push(e) });
    expect(result).toMatchObject({
      role: 'leader',
      address: '192.168.200.101',
      leaderAddress: '192.168.200.1',
      link: 'vx200',
      swarmRole: 'manager',
      clusterId: 'c-1',
      discovery: { decision: 'bootstrap', reason: 'no-candidates', candidates: [] },
      alreadyRunning: false,
    });
    expect(log.slice(0, 5)).toEqual(['preflight', 'ensureLink', 'tuneKernel', 'prepareConsul', 'elect']);
    // After the election, together: the node address, the DHCP server and (after discovery) Consul …
    expect(log.slice(5, 9).sort()).toEqual(['assignNodeAddress', 'beginConsul', 'discoverCluster', 'takeLeaderDuties']);
    expect(log.indexOf('assignNodeAddress')).toBeLessThan(log.indexOf('discoverCluster'));
    expect(log.indexOf('discoverCluster')).toBeLessThan(log.indexOf('beginConsul'));
    // … then the new cluster's identity and swarm init, together.
    expect(log.slice(9).sort()).toEqual(['joinSwarm', 'registerCluster', 'startSupervisor']);
    expect(log.at(-1)).toBe('startSupervisor');
    const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8'));
    expect(journal.status).toBe('running');
    const kinds = journal.entries.map((e: { kind: string }) => e.kind);
    expect(kinds.slice(0, 3)).toEqual(['cluster-link', 'sysctl', 'leader-address']);
    expect(kinds.slice(3, 6).sort()).toEqual(['consul-agent', 'dhcp-server', 'node-address']);
    expect(kinds.slice(6)).toEqual(['swarm-member', 'supervisor']);
    expect(journal.facts).toMatchObject({
      role: 'leader',
      address: '192.168.200.101',
      leaderAddress: '192.168.200.1',
      hostname: 'pi1',
      clusterId: 'c-1',
      swarmClusterId: 'swarm-1',
      consulServer: true,
    });
    const finished = events.filter((e) => e.type === 'step-finished').map((e) => (e as { step: string }).step);
    expect(finished.slice(0, 4)).toEqual(['preflight', 'network', 'election', 'node-address']);
    expect(finished.slice(4, 7).sort()).toEqual(['consul', 'dhcp-server', 'discovery']);
    expect(finished.slice(7, 9).sort()).toEqual(['cluster', 'swarm']);
    expect(finished.at(-1)).toBe('supervisor');
    // What the next start needs to find the cluster again, kept across stop.
    const known = JSON.parse(await readFile(join(dir, 'cluster.json'), 'utf8'));
    expect(known).toMatchObject({
      clusterId: 'c-1',
      swarmClusterId: 'swarm-1',
      consulServers: ['192.168.200.101'],
      nodeAddress: '192.168.200.101',
    });
  });

  it('a leader that finds a cluster joins it: no new identity, swarm join with the role of its slot', async () => {
    const fake = fakeServices('leader');
    let swarmArgs: Parameters<NodeServices['joinSwarm']>[1] | undefined;
    const services: NodeServices = {
      ...fake.services,
      discoverCluster: async () => ({
        decision: 'join',
        reason: 'answered',
        candidates: ['192.168.200.102'],
        answer: { address: '192.168.200.102', leader: '192.168.200.102:8300', servers: ['192.168.200.102'] },
        durationMs: 3,
      }),
      joinSwarm: async (ctx, args) => {
        swarmArgs = args;
        return fake.services.joinSwarm(ctx, args);
      },
    };
    const result = await startNode(nodeFacts(config, { hostname: 'pi1' }), { services });
    expect(result).toMatchObject({ role: 'leader', clusterId: 'c-1', discovery: { decision: 'join', reason: 'answered' } });
    expect(fake.log).not.toContain('registerCluster');
    expect(swarmArgs).toMatchObject({ role: 'leader', bootstrap: false, manager: true, address: '192.168.200.101' });
  });

  it('reports alreadyRunning on a second start and records nothing new', async () => {
    const { services } = fakeServices('leader');
    await startNode(nodeFacts(config), { services });
    const second = await startNode(nodeFacts(config), { services });
    expect(second.alreadyRunning).toBe(true);
    const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8'));
    expect(journal.entries).toHaveLength(8);
  });

  it('repairs a component that died and is not "already running" then', async () => {
    const fake = fakeServices('follower');
    await startNode(nodeFacts(config), { services: fake.services });
    fake.state.consul = false; // the agent was killed
    const again = await startNode(nodeFacts(config), { services: fake.services });
    expect(again.alreadyRunning).toBe(false);
    expect(fake.state.consul).toBe(true);
    const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8'));
    expect(journal.entries.filter((e: { kind: string }) => e.kind === 'consul-agent')).toHaveLength(1);
  });

  it('follows the follower flow with a DHCP lease', async () => {
    const { services, log } = fakeServices('follower');
    const result = await startNode(nodeFacts(config), { services });
    expect(result).toMatchObject({ role: 'follower', address: '192.168.200.102', leaderAddress: '192.168.200.1', clusterId: 'c-1' });
    expect(log).toEqual([
      'preflight',
      'ensureLink',
      'tuneKernel',
      'prepareConsul',
      'elect',
      'obtainLease',
      'beginConsul',
      'joinSwarm',
      'startSupervisor',
    ]);
  });

  it('rolls back everything, newest first, when a step fails', async () => {
    const { services, log, state } = fakeServices('leader', 'beginConsul');
    await expect(startNode(nodeFacts(config), { services })).rejects.toThrow('beginConsul exploded');
    // The DHCP server step ran beside it: it finished before the rollback began, and is undone too.
    expect(log.slice(-5).sort()).toEqual([
      'releaseLeaderAddress',
      'releaseNodeAddress',
      'restoreKernelSetting',
      'stopDhcpServer',
      'teardownLink',
    ]);
    expect(log.slice(-3)).toEqual(['releaseLeaderAddress', 'restoreKernelSetting', 'teardownLink']);
    expect(state).toEqual(ALL_DOWN);
    await expect(readFile(join(dir, 'journal.json'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rolls back when aborted mid-flow (Ctrl-C)', async () => {
    const controller = new AbortController();
    const { services, state } = fakeServices('leader', undefined, (name) => {
      if (name === 'beginConsul') controller.abort();
    });
    await expect(startNode(nodeFacts(config), { services, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(state).toEqual(ALL_DOWN);
  });

  it('refuses a follower without DHCP with a config error', async () => {
    const { services } = fakeServices('follower');
    const noDhcp = parseConfig({ stateDir: dir, dhcp: { enabled: false } });
    await expect(startNode(nodeFacts(noDhcp), { services })).rejects.toMatchObject({ code: 'FOLLOWER_NEEDS_DHCP', exitCode: 2 });
  });

  it('stop undoes exactly what start did, in reverse, and is safe to repeat', async () => {
    const { services, log, state } = fakeServices('leader');
    await startNode(nodeFacts(config), { services });
    const recorded = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')).entries.map((e: { kind: string }) => e.kind);
    log.length = 0;
    const stopped = await stopNode(nodeFacts(config), { services });
    expect(stopped).toEqual({ wasRunning: true, undone: 8 });
    const undo: Record<string, string> = {
      supervisor: 'stopSupervisor',
      'swarm-member': 'leaveSwarm',
      'consul-agent': 'stopConsul',
      'dhcp-server': 'stopDhcpServer',
      'node-address': 'releaseNodeAddress',
      'leader-address': 'releaseLeaderAddress',
      sysctl: 'restoreKernelSetting',
      'cluster-link': 'teardownLink',
    };
    expect(log).toEqual([...recorded].reverse().map((kind: string) => undo[kind]));
    expect(log.slice(0, 2)).toEqual(['stopSupervisor', 'leaveSwarm']);
    expect(log.slice(-3)).toEqual(['releaseLeaderAddress', 'restoreKernelSetting', 'teardownLink']);
    expect(Object.values(state).every((v) => v === false)).toBe(true);
    expect(await stopNode(nodeFacts(config), { services })).toEqual({ wasRunning: false, undone: 0 });
    expect(log).not.toContain('purgeState');
  });

  it('stop with clusterDown tells the Swarm and Consul undo that every node goes (no graceful leave needed)', async () => {
    const { services } = fakeServices('leader');
    const seen: [string, boolean | undefined][] = [];
    const watched = {
      ...services,
      leaveSwarm: async (ctx: Parameters<NodeServices['leaveSwarm']>[0], o: Parameters<NodeServices['leaveSwarm']>[1]) => {
        seen.push(['leaveSwarm', ctx.clusterDown]);
        return services.leaveSwarm(ctx, o);
      },
      stopConsul: async (ctx: Parameters<NodeServices['stopConsul']>[0], o: Parameters<NodeServices['stopConsul']>[1]) => {
        seen.push(['stopConsul', ctx.clusterDown]);
        return services.stopConsul(ctx, o);
      },
    };
    await startNode(nodeFacts(config), { services: watched });
    await stopNode(nodeFacts(config), { services: watched, clusterDown: true });
    expect(seen).toEqual([
      ['leaveSwarm', true],
      ['stopConsul', true],
    ]);
  });

  it('stop --purge also deletes the state kept on purpose', async () => {
    const { services, log } = fakeServices('leader');
    await startNode(nodeFacts(config), { services });
    await stopNode(nodeFacts(config), { services, purge: true });
    expect(log.at(-1)).toBe('purgeState');
  });

  it('stop reports changes it could not undo and keeps them for a retry', async () => {
    const { services } = fakeServices('leader');
    await startNode(nodeFacts(config), { services });
    const broken = { ...services, stopConsul: async () => Promise.reject(new Error('consul stuck')) };
    await expect(stopNode(nodeFacts(config), { services: broken })).rejects.toMatchObject({ code: 'STOP_INCOMPLETE' });
    const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8'));
    expect(journal.entries.map((e: { kind: string }) => e.kind)).toEqual(['consul-agent']);
    expect(await stopNode(nodeFacts(config), { services })).toEqual({ wasRunning: true, undone: 1 });
  });
});
