import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterConfig, ExecaRunner, type ProgressEvent, parseConfig, readPidFile } from '@cluster-lab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consulAgent, type StartedConsulAgent } from './consul-agent.js';
import { BinaryRuntime } from './runtime/binary-runtime.js';
import { bundleFakeConsul, randomLoopback } from './test-support/bundle-fake-consul.js';
import { parseConsulVersion } from './version/consul-version.js';

let bin: string;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'consul-agent-'));
  bin = await bundleFakeConsul(root);
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** Each agent gets its own HTTP port: client_addr includes 127.0.0.1, shared by all test agents. */
const randomPort = () => 20_000 + Math.floor(Math.random() * 20_000);

function labConfig(leader: string, stateDir: string, httpPort = randomPort()): ClusterConfig {
  return parseConfig({
    subnet: '127.0.0.0/8',
    leaderAddress: leader,
    dhcp: { enabled: false, rangeStart: '127.0.0.100', rangeEnd: '127.0.0.200' },
    stateDir,
    consul: { runtime: 'binary', binary: bin, datacenter: 'unit', httpPort },
  });
}

/** Starts agents concurrently; if one fails, stops the others before rethrowing (no leftovers). */
async function startAll(agents: Array<{ start(): Promise<StartedConsulAgent> }>): Promise<StartedConsulAgent[]> {
  const results = await Promise.allSettled(agents.map((a) => a.start()));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    for (const r of results) if (r.status === 'fulfilled') await r.value.stop();
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<StartedConsulAgent>).value);
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('consulAgent with the binary runtime (fake consul executable)', () => {
  it('starts a leader and a follower, hands out a working store, and stop removes what start created', async () => {
    const [l, f] = [randomLoopback(), randomLoopback()];
    const events: ProgressEvent[] = [];
    const runner = new ExecaRunner();
    const mk = (name: string, addr: string, role: 'leader' | 'follower') => {
      const stateDir = join(root, name);
      const config = labConfig(l, stateDir);
      const runtime = new BinaryRuntime({ runner, binary: bin, runDir: join(stateDir, 'consul') });
      return {
        runtime,
        agent: consulAgent({
          config,
          runtime,
          facts: {
            role,
            server: role === 'leader',
            clusterAddress: addr,
            leaderAddress: l,
            nodeName: name,
            nodeId: crypto.randomUUID(),
            dataDir: join(stateDir, 'consul', 'data'),
          },
          clientAddress: `${addr}:${config.consul.httpPort}`,
          leaderTimeoutMs: 5000,
          events: (e) => events.push(e),
        }),
      };
    };
    const leader = mk('n1', l, 'leader');
    const follower = mk('n2', f, 'follower');
    const [a, b] = (await startAll([leader.agent, follower.agent])) as [StartedConsulAgent, StartedConsulAgent];
    try {
      expect(a.leader).toBe(`${l}:8300`);
      expect(b.leader).toBe(`${l}:8300`);
      expect(a.changes).toMatchObject({ runtime: 'binary', createdConfigFile: true, createdDataDir: true, startedAgent: true });
      expect((await stat(a.changes.configFile)).mode & 0o777).toBe(0o600);
      await b.store.put('swarm/worker-token', 'SWMTKN-1-w');
      expect((await a.store.waitFor('swarm/worker-token', { timeoutMs: 2000 }))?.value).toBe('SWMTKN-1-w');
      expect((await a.client.members()).length).toBe(2);
      // Starting again is a no-op on a running agent.
      const again = await follower.agent.start();
      expect(again.changes.startedAgent).toBe(false);
      again.client.close();
      expect(events.filter((e) => e.type === 'log' && /^Consul 1\.20\.0-fake leader /.test(e.message))).toHaveLength(3);
      expect(JSON.stringify(events)).not.toContain('SWMTKN');
    } finally {
      await b.stop();
      await a.stop();
      await b.stop();
    }
    for (const s of [a, b]) {
      expect(await exists(s.changes.configFile)).toBe(false);
      expect(await exists(s.changes.dataDir)).toBe(false);
    }
    expect(await readPidFile(leader.runtime.pidFile)).toBeUndefined();
    expect((await leader.runtime.status()).running).toBe(false);
    expect(await leader.runtime.logs()).toContain('TEST DOUBLE');
  });

  it('fails with CONSUL_NO_LEADER when a follower cannot reach the leader, and cleans up', async () => {
    const [l, f] = [randomLoopback(), randomLoopback()];
    const stateDir = join(root, 'lonely');
    const runtime = new BinaryRuntime({ runner: new ExecaRunner(), binary: bin, runDir: join(stateDir, 'consul') });
    const config = labConfig(l, stateDir);
    const agent = consulAgent({
      config,
      runtime,
      facts: {
        role: 'follower',
        server: false,
        clusterAddress: f,
        leaderAddress: l,
        nodeName: 'lonely',
        nodeId: crypto.randomUUID(),
        dataDir: join(stateDir, 'data'),
      },
      clientAddress: `${f}:${config.consul.httpPort}`,
      leaderTimeoutMs: 600,
    });
    await expect(agent.start()).rejects.toMatchObject({
      code: 'CONSUL_NO_LEADER',
      message: `no Consul leader after 600 ms at ${f}:${config.consul.httpPort} — is the leader up?`,
    });
    expect(await readPidFile(runtime.pidFile)).toBeUndefined();
    expect(await exists(join(stateDir, 'data'))).toBe(false);
  });

  it('begin() returns before the agent runs; running() before the leader; its store waits for the leader', async () => {
    const l = randomLoopback();
    const stateDir = join(root, 'split');
    const config = labConfig(l, stateDir);
    const runtime = new BinaryRuntime({ runner: new ExecaRunner(), binary: bin, runDir: join(stateDir, 'consul') });
    const begun = await consulAgent({
      config,
      runtime,
      facts: {
        role: 'leader',
        server: true,
        clusterAddress: l,
        leaderAddress: l,
        nodeName: 'split',
        nodeId: crypto.randomUUID(),
        dataDir: join(stateDir, 'data'),
      },
      clientAddress: `${l}:${config.consul.httpPort}`,
      leaderTimeoutMs: 5000,
    }).begin();
    try {
      expect(begun.changes).toMatchObject({ startedAgent: true, createdConfigFile: true, createdDataDir: true });
      expect(begun.version).toMatchObject({ major: 1, minor: 20, prerelease: 'fake' });
      const running = await begun.running();
      expect(running.leader).toBeUndefined();
      // The fake elects after 150 ms × raft_multiplier: the put waits for it instead of failing.
      await running.store.put('swarm/manager-token', 'SWMTKN-1-m');
      expect(await begun.leaderKnown()).toBe(`${l}:8300`);
      expect((await running.store.get('swarm/manager-token'))?.value).toBe('SWMTKN-1-m');
    } finally {
      await begun.stop();
    }
    expect(await exists(join(stateDir, 'data'))).toBe(false);
  });

  it('render() carries the exposeUi warning that start emits as a warn event', async () => {
    const l = randomLoopback();
    const events: ProgressEvent[] = [];
    const config = parseConfig({ ...labConfig(l, join(root, 'ui')), consul: { ...labConfig(l, '/x').consul, exposeUi: true } });
    const rendered = await consulAgent({
      config,
      runtime: new BinaryRuntime({ runner: new ExecaRunner(), runDir: '/nonexistent' }),
      facts: { role: 'leader', server: true, clusterAddress: l, leaderAddress: l, nodeName: 'ui', nodeId: 'x', dataDir: '/d' },
      events: (e) => events.push(e),
    }).render(parseConsulVersion('Consul v1.20.1'));
    expect(rendered.config.client_addr).toBe('0.0.0.0');
    expect(rendered.warnings[0]).toMatch(/^consul.exposeUi is set/);
  });
});

describe('servers and clients (consul.servers = 3, four nodes)', () => {
  it('the leader and the first two followers to claim a slot run servers, the fourth a client', async () => {
    const addrs = [randomLoopback(), randomLoopback(), randomLoopback(), randomLoopback()];
    const leaderAddr = addrs[0] as string;
    const runner = new ExecaRunner();
    const ports = addrs.map(() => randomPort());
    const mk = (i: number, server: boolean) => {
      const stateDir = join(root, `slots-n${i}`);
      const runtime = new BinaryRuntime({ runner, binary: bin, runDir: join(stateDir, 'consul') });
      return consulAgent({
        config: labConfig(leaderAddr, stateDir, ports[i]),
        runtime,
        clientAddress: `${addrs[i]}:${ports[i]}`,
        leaderTimeoutMs: 5000,
        facts: {
          role: i === 0 ? 'leader' : 'follower',
          server,
          clusterAddress: addrs[i] as string,
          leaderAddress: leaderAddr,
          nodeName: `s${i}`,
          nodeId: crypto.randomUUID(),
          dataDir: join(stateDir, 'consul', 'data'),
        },
      }).start();
    };
    const leader = await mk(0, true);
    const started = [leader];
    try {
      // Two followers hold server slots (the boot flow decides this in the cluster's slot table).
      const claims = [true, false, true];
      const results = await Promise.allSettled([1, 2, 3].map((i) => mk(i, claims[i - 1] as boolean)));
      for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
      for (const r of results) if (r.status === 'rejected') throw r.reason;
      const members = await leader.client.members();
      expect(
        members
          .filter((m) => m.role === 'server')
          .map((m) => m.name)
          .sort(),
      ).toEqual(['s0', ...[1, 2, 3].filter((i) => claims[i - 1]).map((i) => `s${i}`)].sort());
      expect(members.filter((m) => m.role === 'client')).toHaveLength(1);
      expect(members.every((m) => m.status === 'alive')).toBe(true);
    } finally {
      for (const s of started.reverse()) await s.stop();
    }
  });
});
