import { join } from 'node:path';
import { type ClusterConfig, type ClusterLabError, deriveClusterKeys, generateSecret, parseConfig } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab, type LabNode } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulClient } from './api/consul-client.js';
import { ConsulStore } from './api/consul-store.js';
import { nodeIdFromMachineId } from './config/node-id.js';
import { type BegunConsulAgent, consulAgent, type StartedConsulAgent } from './consul-agent.js';
import { BinaryRuntime } from './runtime/binary-runtime.js';
import { forwardNodePort, type NodePortForward, requireRealConsul } from './test-support/real-consul.js';

const LEADER = '192.168.200.1';
const addressOf = (i: number) => (i === 0 ? LEADER : `192.168.200.${100 + i}`);
/** The KV key issue 14 names: the Swarm manager token, as the swarm package stores it. */
const MANAGER_TOKEN_KEY = 'cluster-lab/swarm/tokens/manager';

/**
 * Real Consul 1.8.7 run from a cluster secret alone (no consul.encrypt/aclToken in the config):
 * gossip encrypted with the derived key, ACLs with default deny, the derived management token,
 * and each node's own agent token created by the node itself.
 */
describe.skipIf(skipUnlessRoot())('real Consul from the cluster secret (Debian 11 build, 4 lab nodes)', () => {
  let lab: Lab;
  let bin: string;
  const keys = deriveClusterKeys(generateSecret());
  const forwards: NodePortForward[] = [];
  const started: BegunConsulAgent[] = [];
  beforeAll(async () => {
    bin = await requireRealConsul();
    lab = await createLab({ name: 'consul-sec', nodes: 4, lan: false });
    await Promise.all(
      lab.nodes.map(async (n, i) => {
        await n.ip.setUp('eth0');
        await n.ip.addAddress('eth0', `${addressOf(i)}/24`);
        // By index: the forwards finish in any order, and agent i must talk to node i.
        forwards[i] = await forwardNodePort(n, 8500);
      }),
    );
  });
  afterAll(async () => {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    for (const f of forwards) await f.close();
    await lab?.destroy();
  });

  const nodeConfig = (n: LabNode): ClusterConfig =>
    parseConfig({ stateDir: join(lab.stateDir, n.name, 'cluster-lab'), consul: { binary: bin, servers: 3 } });
  const http = (i: number, token?: string) =>
    new ConsulClient({ address: (forwards[i] as NodePortForward).address, timeoutMs: 5000, ...(token ? { token } : {}) });

  function agentFor(i: number, server: boolean, nodeKeys = keys) {
    const n = lab.nodes[i] as LabNode;
    const config = nodeConfig(n);
    return consulAgent({
      config,
      keys: nodeKeys,
      runtime: new BinaryRuntime({ runner: n.runner, binary: bin, runDir: join(config.stateDir, 'consul') }),
      // The test process is outside the nodes: it reaches each agent through a forwarded port.
      clientAddress: (forwards[i] as NodePortForward).address,
      facts: {
        role: i === 0 ? 'leader' : 'follower',
        server,
        clusterAddress: addressOf(i),
        leaderAddress: LEADER,
        nodeName: n.hostname,
        nodeId: nodeIdFromMachineId(`${'0'.repeat(31)}${i + 1}`),
        dataDir: join(config.stateDir, 'consul', 'data'),
      },
    });
  }

  it('forms with the derived keys; anonymous reads of the Swarm token are refused (403) on every node, the derived tokens read it', async () => {
    const begun = await Promise.all([agentFor(0, true), agentFor(1, true), agentFor(2, false)].map((a) => a.begin()));
    started.push(...begun);
    const ready: StartedConsulAgent[] = await Promise.all(begun.map((b) => b.ready()));
    expect(ready[0]?.rendered.config.encrypt).toBe(keys.gossipKey);
    expect(ready[0]?.rendered.config.acl).toEqual({
      enabled: true,
      default_policy: 'deny',
      enable_token_persistence: true,
      tokens: { master: keys.managementToken, agent: keys.agentToken('node1') },
    });
    expect(ready[2]?.rendered.config.acl?.tokens).toEqual({ agent: keys.agentToken('node3') });

    const admin = http(0, keys.managementToken);
    try {
      const members = await until(async () => {
        const m = await admin.members();
        return m.length === 3 && m.every((x) => x.status === 'alive') ? m : undefined;
      });
      expect(members.map((m) => m.name).sort()).toEqual(['node1', 'node2', 'node3']);
      // Each node made its own token, with its node identity; the agents synced their nodes with them.
      for (const [i, name] of ['node1', 'node2', 'node3'].entries()) {
        const self = await http(i, keys.agentToken(name)).request<{
          NodeIdentities?: { NodeName: string }[];
          Policies?: { Name: string }[];
        }>('acl.token.self', 'GET', '/acl/token/self');
        expect(self.NodeIdentities?.map((n) => n.NodeName)).toEqual([name]);
        expect(self.Policies?.map((p) => p.Name)).toEqual(['cluster-lab-agent']);
        const node = await until(async () => {
          const n = await admin.request<{ Node?: { TaggedAddresses?: Record<string, string> | null } }>(
            'catalog.node',
            'GET',
            `/catalog/node/${name}`,
          );
          return n.Node?.TaggedAddresses ? n : undefined;
        });
        expect(node.Node?.TaggedAddresses?.lan).toBe(addressOf(i));
      }

      // What Cluster Lab stores goes through the management token (ConsulStore prefix cluster-lab/).
      await new ConsulStore(admin).put('swarm/tokens/manager', 'clenc1.sealed-token-stand-in');
      for (const i of [0, 1, 2]) {
        const anonymous = http(i);
        const denied = (await anonymous.kv.get(MANAGER_TOKEN_KEY).catch((e: unknown) => e)) as ClusterLabError;
        expect(denied.code, `node${i + 1}`).toBe('CONSUL_PERMISSION_DENIED');
        expect(denied.message).toContain('HTTP 403');
        expect(denied.message).not.toContain('clenc1.');
        await expect(anonymous.kv.put('cluster-lab/swarm/managers', '[]')).rejects.toMatchObject({ code: 'CONSUL_PERMISSION_DENIED' });
        anonymous.close();
        const member = http(i, keys.managementToken);
        expect((await member.kv.get(MANAGER_TOKEN_KEY))?.value).toBe('clenc1.sealed-token-stand-in');
        member.close();
      }
      // An agent token reads and writes Cluster Lab's KV and holds locks, and nothing outside it.
      const agent3 = http(2, keys.agentToken('node3'));
      expect((await agent3.kv.get(MANAGER_TOKEN_KEY))?.value).toBe('clenc1.sealed-token-stand-in');
      const lock = await agent3.lock('cluster-lab/locks/test', { timeoutMs: 5000, value: 'node3' });
      await lock.release();
      await expect(agent3.kv.put('elsewhere/key', 'x')).rejects.toMatchObject({ code: 'CONSUL_PERMISSION_DENIED' });
      agent3.close();
      // A token derived from another secret is unknown to the cluster.
      const stranger = http(1, deriveClusterKeys(generateSecret()).managementToken);
      await expect(stranger.kv.get(MANAGER_TOKEN_KEY)).rejects.toMatchObject({ code: 'CONSUL_PERMISSION_DENIED' });
      stranger.close();
    } finally {
      admin.close();
    }
  });

  it('a node with another secret cannot join the gossip (its derived gossip key differs)', async () => {
    const rogue = await agentFor(3, false, deriveClusterKeys(generateSecret())).begin();
    started.push(rogue);
    await rogue.running();
    // Several retry_join rounds (1 s each) later neither side lists the other.
    await new Promise((r) => setTimeout(r, 4000));
    const admin = http(0, keys.managementToken);
    try {
      expect((await admin.members()).map((m) => m.name).sort()).toEqual(['node1', 'node2', 'node3']);
    } finally {
      admin.close();
    }
    const log = await new BinaryRuntime({
      runner: (lab.nodes[3] as LabNode).runner,
      binary: bin,
      runDir: join(nodeConfig(lab.nodes[3] as LabNode).stateDir, 'consul'),
    }).logs(200);
    expect(log).toMatch(/No installed keys could decrypt the message|encryption|Failed to join/);
    await rogue.stop();
  });
});

async function until<T>(fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
