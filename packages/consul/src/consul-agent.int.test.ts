import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClusterConfig, type ClusterLabError, parseConfig } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab, type LabNode } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulClient } from './api/consul-client.js';
import { ConsulStore } from './api/consul-store.js';
import { nodeIdFromMachineId } from './config/node-id.js';
import { type BegunConsulAgent, consulAgent, type StartedConsulAgent } from './consul-agent.js';
import { BinaryRuntime } from './runtime/binary-runtime.js';
import { forwardNodePort, type NodePortForward, requireRealConsul } from './test-support/real-consul.js';
import { formatConsulVersion } from './version/consul-version.js';

const LEADER = '192.168.200.1';
const TOKEN = 'f0e1d2c3-b4a5-4697-8877-665544332211';
const GOSSIP_KEY = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';
const addressOf = (i: number) => (i === 0 ? LEADER : `192.168.200.${100 + i}`);
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe.skipIf(skipUnlessRoot())('real Consul (Debian 11 build) across 3 lab nodes', () => {
  let lab: Lab;
  let bin: string;
  const forwards: NodePortForward[] = [];
  beforeAll(async () => {
    bin = await requireRealConsul();
    lab = await createLab({ name: 'consul-real', nodes: 3, lan: false });
    await Promise.all(
      lab.nodes.map(async (n, i) => {
        await n.ip.setUp('eth0');
        await n.ip.addAddress('eth0', `${addressOf(i)}/24`);
      }),
    );
  });
  afterAll(async () => {
    for (const f of forwards) await f.close();
    await lab?.destroy();
  });

  const nodeConfig = (n: LabNode, extra: Record<string, unknown> = {}): ClusterConfig =>
    parseConfig({ stateDir: join(lab.stateDir, n.name, 'cluster-lab'), consul: { binary: bin, ...extra } });

  function agentFor(n: LabNode, i: number, config: ClusterConfig, server: boolean) {
    const runtime = new BinaryRuntime({ runner: n.runner, binary: bin, runDir: join(config.stateDir, 'consul') });
    const agent = consulAgent({
      config,
      runtime,
      facts: {
        role: i === 0 ? 'leader' : 'follower',
        server,
        clusterAddress: addressOf(i),
        leaderAddress: LEADER,
        nodeName: n.hostname,
        nodeId: nodeIdFromMachineId(`${'0'.repeat(31)}${i + 1}`),
        dataDir: join(config.stateDir, 'consul', 'data'),
      },
      // This test process is outside the nodes' namespaces: it checks through forwarded ports.
      waitForLeader: false,
    });
    return { n, runtime, agent, config };
  }

  async function forward(n: LabNode, token?: string): Promise<ConsulClient> {
    const f = await forwardNodePort(n, 8500);
    forwards.push(f);
    return new ConsulClient({ address: f.address, timeoutMs: 5000, ...(token ? { token } : {}) });
  }

  it('forms one cluster of 3 servers with ACLs and gossip encryption; KV, CAS, blocking reads and locks work from any node; stop leaves nothing', async () => {
    const secured = { aclToken: TOKEN, encrypt: GOSSIP_KEY };
    const nodes = lab.nodes.map((n, i) => agentFor(n, i, nodeConfig(n, secured), true));
    // All at once, followers included: retry_join copes with the leader starting later.
    const begun = await Promise.allSettled(nodes.map((a) => a.agent.begin()));
    const started: BegunConsulAgent[] = begun.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      for (const r of begun) if (r.status === 'rejected') throw r.reason;
      const ready = await Promise.all(started.map((b) => b.ready()));
      expect(ready.map((a) => formatConsulVersion(a.version))).toEqual(['1.8.7', '1.8.7', '1.8.7']);
      expect(ready[0]?.rendered.config.acl?.tokens).toEqual({ master: TOKEN, agent: TOKEN });
      expect(ready[0]?.rendered.config.ui).toBe(true);

      const clients = await Promise.all(lab.nodes.map((n) => forward(n, TOKEN)));
      for (const c of clients) {
        expect(await c.waitForLeader({ timeoutMs: 20_000 })).toBe(`${LEADER}:8300`);
        const members = await until(async () => {
          const m = await c.members();
          return m.length === 3 && m.every((x) => x.status === 'alive') ? m : undefined;
        });
        expect(members.map((m) => `${m.name} ${m.address} ${m.role}`).sort()).toEqual([
          `node1 ${LEADER} server`,
          'node2 192.168.200.101 server',
          'node3 192.168.200.102 server',
        ]);
        const health = await c.agentHealth();
        expect(health.version).toBe('1.8.7');
        expect(health.server).toBe(true);
      }
      // KV as the cluster store uses it: put/get from other nodes, CAS, blocking waitFor, locks.
      const [s1, s2, s3] = clients.map((c) => new ConsulStore(c)) as [ConsulStore, ConsulStore, ConsulStore];
      await s3.put('swarm/worker-token', 'SWMTKN-1-w');
      expect((await s1.get('swarm/worker-token'))?.value).toBe('SWMTKN-1-w');
      const current = await s2.get('swarm/worker-token');
      expect(await s1.cas('swarm/worker-token', 'rotated', current?.index ?? 0)).toBe(true);
      expect(await s2.cas('swarm/worker-token', 'stale', current?.index ?? 0)).toBe(false);
      expect(await s2.cas('swarm/manager-token', 'new', 0)).toBe(true);
      expect(await s3.cas('swarm/manager-token', 'again', 0)).toBe(false);
      const waiting = s2.waitFor('leader/address', { timeoutMs: 10_000 });
      await s3.put('leader/address', LEADER);
      expect((await waiting)?.value).toBe(LEADER);
      // Session locks: exclusive across nodes, handed over on release.
      const held = await clients[0]!.lock('cluster-lab/locks/managers', { timeoutMs: 5000, value: 'node1' });
      await expect(clients[1]!.lock('cluster-lab/locks/managers', { timeoutMs: 500 })).rejects.toMatchObject({
        code: 'CONSUL_LOCK_TIMEOUT',
      });
      const next = clients[2]!.lock('cluster-lab/locks/managers', { timeoutMs: 10_000, value: 'node3' });
      await held.release();
      const second = await next;
      expect((await clients[0]!.kv.get('cluster-lab/locks/managers'))?.value).toBe('node3');
      await second.release();
      // ACLs on real Consul: default deny; without the token nothing is readable or writable.
      const anonymous = new ConsulClient({ address: clients[1]!.address, timeoutMs: 5000 });
      const denied = (await anonymous.kv.put('x', 'y').catch((e: unknown) => e)) as ClusterLabError;
      expect(denied.code).toBe('CONSUL_PERMISSION_DENIED');
      expect(await anonymous.kv.get('cluster-lab/swarm/worker-token').catch((e: ClusterLabError) => e.code)).toBe(
        'CONSUL_PERMISSION_DENIED',
      );
      anonymous.close();
      for (const c of clients) c.close();
      // bind/advertise: gossip on the cluster address only, HTTP on loopback + cluster address.
      const ss = await lab.nodes[1]!.exec('ss', ['-Hltn']);
      expect(ss.stdout).toMatch(/192\.168\.200\.101:8301/);
      expect(ss.stdout).not.toMatch(/(0\.0\.0\.0|\*):8301/);
      expect(ss.stdout).toMatch(/127\.0\.0\.1:8500/);
    } finally {
      await Promise.all(started.map((s) => s.stop()));
    }
    for (const [i, s] of started.entries()) {
      expect(await nodes[i]!.runtime.status()).toEqual({ running: false, detail: 'consul agent not running' });
      expect(await exists(s.changes.dataDir)).toBe(false);
      expect(await exists(s.changes.configFile)).toBe(false);
      const ps = await nodes[i]!.n.exec('ps', ['-eo', 'args']);
      expect(ps.stdout).not.toContain(s.changes.configFile);
    }
  });

  it("the leader's start in halves: begin() execs, running() returns once the agent runs, the store waits for the Raft leader", async () => {
    const n1 = lab.nodes[0] as LabNode;
    const f = await forwardNodePort(n1, 8500);
    forwards.push(f);
    const config = nodeConfig(n1);
    const runtime = new BinaryRuntime({ runner: n1.runner, binary: bin, runDir: join(config.stateDir, 'consul') });
    const t0 = performance.now();
    const begun = await consulAgent({
      config,
      runtime,
      clientAddress: f.address,
      facts: {
        role: 'leader',
        server: true,
        clusterAddress: LEADER,
        leaderAddress: LEADER,
        nodeName: n1.hostname,
        nodeId: nodeIdFromMachineId(`${'0'.repeat(31)}1`),
        dataDir: join(config.stateDir, 'consul', 'data'),
      },
    }).begin();
    try {
      const tBegun = performance.now();
      const running = await begun.running();
      const tRunning = performance.now();
      expect(running.leader).toBeUndefined();
      await running.store.put('swarm/manager-token', 'SWMTKN-1-m');
      const tStored = performance.now();
      expect(await begun.leaderKnown()).toBe(`${LEADER}:8300`);
      expect((await running.store.get('swarm/manager-token'))?.value).toBe('SWMTKN-1-m');
      // For the report: where a first server's start-up goes (shared machine, noisy).
      console.info(
        `real consul leader: begin ${Math.round(tBegun - t0)} ms, running +${Math.round(tRunning - tBegun)} ms, first KV write (after the leader) +${Math.round(tStored - tRunning)} ms`,
      );
    } finally {
      await begun.stop();
    }
  });

  it('a node with another gossip key cannot join: real Consul keeps the cluster closed', async () => {
    const [n1, n2] = lab.nodes as [LabNode, LabNode];
    const leader = agentFor(n1, 0, nodeConfig(n1, { encrypt: GOSSIP_KEY }), true);
    const stranger = agentFor(n2, 1, nodeConfig(n2, { encrypt: 'ddKXydDlaL4HyFDNeF2IbA==' }), false);
    const started: StartedConsulAgent[] = [];
    try {
      started.push(await leader.agent.start());
      started.push(await stranger.agent.start());
      const c1 = await forward(n1);
      expect(await c1.waitForLeader({ timeoutMs: 20_000 })).toBe(`${LEADER}:8300`);
      // Several retry_join rounds (1 s each) later the leader still sees only itself.
      await new Promise((r) => setTimeout(r, 3000));
      expect((await c1.members()).map((m) => m.name)).toEqual(['node1']);
      expect(await stranger.runtime.logs(200)).toMatch(/No installed keys could decrypt the message|encryption|Failed to join/);
      c1.close();
    } finally {
      for (const s of started.reverse()) await s.stop();
    }
  });
});

async function until<T>(fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
