import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterSecret, deriveClusterKeys, ExecaRunner, type ProgressEvent, parseConfig } from '@cluster-lab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulClient } from './api/consul-client.js';
import { consulAgent, type StartedConsulAgent } from './consul-agent.js';
import { BinaryRuntime } from './runtime/binary-runtime.js';
import { bundleFakeConsul, randomLoopback } from './test-support/bundle-fake-consul.js';

let bin: string;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'consul-agent-sec-'));
  bin = await bundleFakeConsul(root);
});
afterAll(() => rm(root, { recursive: true, force: true }));

const keys = deriveClusterKeys(ClusterSecret.fromBytes(Buffer.alloc(32, 9)));

describe('consulAgent with the cluster keys (fake consul executable)', () => {
  it('runs with the derived gossip key and tokens, creates each node its agent token, and never logs them', async () => {
    const [l, f] = [randomLoopback(), randomLoopback()];
    const events: ProgressEvent[] = [];
    const runner = new ExecaRunner();
    const mk = (name: string, addr: string, role: 'leader' | 'follower') => {
      const stateDir = join(root, name);
      const config = parseConfig({
        subnet: '127.0.0.0/8',
        leaderAddress: l,
        dhcp: { enabled: false, rangeStart: '127.0.0.100', rangeEnd: '127.0.0.200' },
        stateDir,
        consul: { runtime: 'binary', binary: bin, datacenter: 'unit', httpPort: 20_000 + Math.floor(Math.random() * 20_000) },
      });
      const runtime = new BinaryRuntime({ runner, binary: bin, runDir: join(stateDir, 'consul') });
      return consulAgent({
        config,
        runtime,
        keys,
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
      });
    };
    const a = await mk('n1', l, 'leader').start();
    let b: StartedConsulAgent | undefined;
    try {
      b = await mk('n2', f, 'follower').start();
      const leaderConfig = JSON.parse(await readFile(a.changes.configFile, 'utf8'));
      expect(leaderConfig.encrypt).toBe(keys.gossipKey);
      expect(leaderConfig.acl).toMatchObject({ default_policy: 'deny', tokens: { agent: keys.agentToken('n1') } });
      expect(Object.values(leaderConfig.acl.tokens)).toContain(keys.managementToken);
      const followerConfig = JSON.parse(await readFile(b.changes.configFile, 'utf8'));
      expect(followerConfig.acl.tokens).toEqual({ agent: keys.agentToken('n2') });
      expect(a.security.source).toEqual({ encrypt: 'secret', token: 'secret' });
      // Each node made its own agent token; the store (management token) works from either node.
      const created = events.filter((e) => e.type === 'log' && e.message.startsWith('created the agent token of '));
      expect(created.map((e) => (e as { message: string }).message).sort()).toEqual([
        'created the agent token of n1',
        'created the agent token of n2',
      ]);
      await b.store.put('swarm/tokens/manager', 'sealed-elsewhere');
      expect((await a.store.get('swarm/tokens/manager'))?.value).toBe('sealed-elsewhere');
      const anonymous = new ConsulClient({ address: a.address });
      await expect(anonymous.kv.get('cluster-lab/swarm/tokens/manager')).rejects.toMatchObject({ code: 'CONSUL_PERMISSION_DENIED' });
      anonymous.close();
      const logged = JSON.stringify(events);
      for (const secret of [keys.gossipKey, keys.managementToken, keys.agentToken('n1'), keys.agentToken('n2')]) {
        expect(logged).not.toContain(secret);
      }
    } finally {
      await b?.stop();
      await a.stop();
    }
  });
});
