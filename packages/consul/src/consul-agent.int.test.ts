import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab, type LabNode } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIdFromMachineId } from './config/node-id.js';
import { consulAgent, type StartedConsulAgent } from './consul-agent.js';
import { BinaryRuntime } from './runtime/binary-runtime.js';
import { assertFakeConsulBuilt } from './testing/index.js';

const LEADER = '192.168.200.1';
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe.skipIf(skipUnlessRoot())('binary runtime with the fake consul executable across 3 lab nodes', () => {
  let lab: Lab;
  let bin: string;
  beforeAll(async () => {
    bin = assertFakeConsulBuilt();
    lab = await createLab({ name: 'consul-bin', nodes: 3, lan: false });
    await Promise.all(
      lab.nodes.map(async (n, i) => {
        await n.ip.setUp('eth0');
        await n.ip.addAddress('eth0', `${i === 0 ? LEADER : `192.168.200.${100 + i}`}/24`);
      }),
    );
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  const consulIn = (n: LabNode, args: string[]) => n.exec(bin, args);

  it('forms one cluster: members == 3, leader == leader address, KV round trip from any node; stop leaves nothing', async () => {
    const agents = lab.nodes.map((n, i) => {
      const stateDir = join(lab.stateDir, n.name, 'cluster-lab');
      const runtime = new BinaryRuntime({ runner: n.runner, binary: bin, runDir: join(stateDir, 'consul') });
      const agent = consulAgent({
        config: parseConfig({ stateDir }),
        runtime,
        facts: {
          role: i === 0 ? 'leader' : 'follower',
          server: i === 0,
          clusterAddress: i === 0 ? LEADER : `192.168.200.${100 + i}`,
          leaderAddress: LEADER,
          nodeName: n.hostname,
          nodeId: nodeIdFromMachineId(`${'0'.repeat(31)}${i + 1}`),
          dataDir: join(stateDir, 'consul', 'data'),
        },
        // This test process is outside the nodes' network namespaces: check through the nodes.
        waitForLeader: false,
      });
      return { n, runtime, agent };
    });
    // All at once, followers included: retry_join copes with the leader starting later.
    const results = await Promise.allSettled(agents.map((a) => a.agent.start()));
    const started: StartedConsulAgent[] = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      for (const s of started) await s.stop();
      throw failed.reason;
    }
    try {
      for (const { n } of agents) {
        const members = await until(async () => {
          const { stdout } = await consulIn(n, ['members']);
          const rows = stdout.trim().split('\n').slice(1);
          return rows.length === 3 && rows.every((r) => /\salive\s/.test(r)) ? rows : undefined;
        });
        expect(members.map((r) => r.split(/\s+/).slice(0, 4).join(' ')).sort()).toEqual([
          'node1 192.168.200.1:8301 alive server',
          'node2 192.168.200.101:8301 alive client',
          'node3 192.168.200.102:8301 alive client',
        ]);
        // A client learns the leader from the servers it joined, a moment after gossip lists them (as real Consul).
        const leader = await until(async () => {
          const { stdout } = await n.exec('busybox', ['wget', '-qO-', 'http://127.0.0.1:8500/v1/status/leader']);
          return stdout === '""' ? undefined : stdout;
        });
        expect(leader).toBe(`"${LEADER}:8300"`);
      }
      // Hostnames come from the nodes' UTS namespaces.
      expect((await lab.nodes[1]!.exec('hostname', [])).stdout.trim()).toBe('node2');
      await consulIn(lab.nodes[2]!, ['kv', 'put', 'cluster-lab/from-node3', 'hello']);
      for (const n of lab.nodes) expect((await consulIn(n, ['kv', 'get', 'cluster-lab/from-node3'])).stdout).toBe('hello\n');
      await consulIn(lab.nodes[0]!, ['kv', 'put', 'cluster-lab/from-node1', 'world']);
      expect((await consulIn(lab.nodes[1]!, ['kv', 'get', 'cluster-lab/from-node1'])).stdout).toBe('world\n');
      // bind/advertise: gossip listens on the cluster address only, never on 0.0.0.0.
      const ss = await lab.nodes[1]!.exec('ss', ['-Hltn']);
      expect(ss.stdout).toMatch(/192\.168\.200\.101:8301/);
      expect(ss.stdout).not.toMatch(/(0\.0\.0\.0|\*):8301/);
      expect(ss.stdout).toMatch(/127\.0\.0\.1:8500/);
    } finally {
      for (const s of [...started].reverse()) await s.stop();
    }
    for (const [i, s] of started.entries()) {
      expect(await agents[i]!.runtime.status()).toEqual({ running: false, detail: 'consul agent not running' });
      expect(await exists(s.changes.dataDir)).toBe(false);
      expect(await exists(s.changes.configFile)).toBe(false);
      const ps = await agents[i]!.n.exec('ps', ['-eo', 'args']);
      expect(ps.stdout).not.toContain(s.changes.configFile);
    }
  });
});

async function until<T>(fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
