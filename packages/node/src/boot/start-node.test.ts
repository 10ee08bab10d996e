import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError, type ClusterConfig, type ProgressEvent, parseConfig } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFacts } from '../node-facts.js';
import type { NodeServices } from '../node-services.js';
import { startNode } from './start-node.js';
import { stopNode } from './stop-node.js';

/** Records what each service call did; state makes every call idempotent like the real ones. */
function fakeServices(role: 'leader' | 'follower', failAt?: keyof NodeServices, onCall?: (name: string) => void) {
  const log: string[] = [];
  const state = { link: false, leader: false, dnsmasq: false, lease: false, consul: false, swarm: false, supervisor: false };
  const call = (name: keyof NodeServices) => {
    log.push(name);
    onCall?.(name);
    if (name === failAt) throw new Error(`${name} exploded`);
  };
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
    startDhcpServer: async () => {
      call('startDhcpServer');
      const started = !state.dnsmasq;
      state.dnsmasq = true;
      return { pidFile: '/state/dnsmasq.pid', started };
    },
    stopDhcpServer: async () => {
      call('stopDhcpServer');
      state.dnsmasq = false;
    },
    obtainLease: async () => {
      call('obtainLease');
      const added = !state.lease;
      state.lease = true;
      return { cidr: '192.168.200.101/24', ip: '192.168.200.101', serverId: '192.168.200.1', added };
    },
    releaseLease: async () => {
      call('releaseLease');
      state.lease = false;
    },
    startConsul: async () => {
      call('startConsul');
      const started = !state.consul;
      state.consul = true;
      return { server: true, ref: { pidFile: '/state/consul.pid' }, started };
    },
    stopConsul: async () => {
      call('stopConsul');
      state.consul = false;
    },
    joinSwarm: async () => {
      call('joinSwarm');
      const joined = !state.swarm;
      state.swarm = true;
      return { role: 'manager', nodeId: 'abcdef1234567890', joined };
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
    expect(result).toMatchObject({ role: 'leader', address: '192.168.200.1', link: 'vx200', swarmRole: 'manager', alreadyRunning: false });
    expect(log).toEqual(['preflight', 'ensureLink', 'elect', 'startDhcpServer', 'startConsul', 'joinSwarm', 'startSupervisor']);
    const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8'));
    expect(journal.status).toBe('running');
    expect(journal.entries.map((e: { kind: string }) => e.kind)).toEqual([
      'cluster-link',
      'leader-address',
      'dhcp-server',
      'consul-agent',
      'swarm-member',
      'supervisor',
    ]);
    expect(journal.facts).toMatchObject({ role: 'leader', address: '192.168.200.1', hostname: 'pi1' });
    const finished = events.filter((e) => e.type === 'step-finished').map((e) => (e as { step: string }).step);
    expect(finished).toEqual(['preflight', 'network', 'election', 'dhcp-server', 'consul', 'swarm', 'supervisor']);
  });

  it('reports alreadyRunning on a second start and records nothing new', async () => {
    const { services } = fakeServices('leader');
    await startNode(nodeFacts(config), { services });
    const second = await startNode(nodeFacts(config), { services });
    expect(second.alreadyRunning).toBe(true);
    const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8'));
    expect(journal.entries).toHaveLength(6);
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
    expect(result).toMatchObject({ role: 'follower', address: '192.168.200.101' });
    expect(log).toEqual(['preflight', 'ensureLink', 'elect', 'obtainLease', 'startConsul', 'joinSwarm', 'startSupervisor']);
  });

  it('rolls back everything, newest first, when a step fails', async () => {
    const { services, log, state } = fakeServices('leader', 'startConsul');
    await expect(startNode(nodeFacts(config), { services })).rejects.toThrow('startConsul exploded');
    expect(log.slice(-3)).toEqual(['stopDhcpServer', 'releaseLeaderAddress', 'teardownLink']);
    expect(state).toEqual({ link: false, leader: false, dnsmasq: false, lease: false, consul: false, swarm: false, supervisor: false });
    await expect(readFile(join(dir, 'journal.json'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rolls back when aborted mid-flow (Ctrl-C)', async () => {
    const controller = new AbortController();
    const { services, state } = fakeServices('leader', undefined, (name) => {
      if (name === 'startConsul') controller.abort();
    });
    await expect(startNode(nodeFacts(config), { services, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(state).toEqual({ link: false, leader: false, dnsmasq: false, lease: false, consul: false, swarm: false, supervisor: false });
  });

  it('refuses a follower without DHCP with a config error', async () => {
    const { services } = fakeServices('follower');
    const noDhcp = parseConfig({ stateDir: dir, dhcp: { enabled: false } });
    await expect(startNode(nodeFacts(noDhcp), { services })).rejects.toMatchObject({ code: 'FOLLOWER_NEEDS_DHCP', exitCode: 2 });
  });

  it('stop undoes exactly what start did, in reverse, and is safe to repeat', async () => {
    const { services, log, state } = fakeServices('leader');
    await startNode(nodeFacts(config), { services });
    log.length = 0;
    const stopped = await stopNode(nodeFacts(config), { services });
    expect(stopped).toEqual({ wasRunning: true, undone: 6 });
    expect(log).toEqual(['stopSupervisor', 'leaveSwarm', 'stopConsul', 'stopDhcpServer', 'releaseLeaderAddress', 'teardownLink']);
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
