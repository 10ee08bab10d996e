import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsulClient, ConsulStore } from '@cluster-lab/consul';
import { FakeConsul } from '@cluster-lab/consul/testing';
import { FakeRunner, InMemoryNetwork, parseConfig } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { updateClusterFile } from '../cluster-state/cluster-file.js';
import { registerCluster } from '../cluster-state/cluster-identity.js';
import { type NodeFacts, nodeFacts } from '../node-facts.js';
import { clusterIdentityCheck } from './cluster-identity-check.js';

describe("health: in the cluster's one Consul", () => {
  let stateDir: string;
  let local: FakeConsul;
  let atLeader: FakeConsul;
  let node: NodeFacts;
  const ports = new Map<FakeConsul, number>();
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'cl-identity-check-'));
    local = new FakeConsul({ nodeName: 'node2' });
    atLeader = new FakeConsul({ nodeName: 'node1' });
    const [l, v] = [await local.listen(), await atLeader.listen()];
    ports.set(local, l.port);
    ports.set(atLeader, v.port);
    const config = parseConfig({ stateDir, network: { backend: 'vxlan' }, swarm: { enabled: false }, consul: { servers: 1 } });
    const base = nodeFacts(config, { runner: new FakeRunner(), network: new InMemoryNetwork(), hostname: 'node2' });
    // The agents this node would reach on 127.0.0.1 and on the leader address.
    node = {
      ...base,
      localConsul: () => new ConsulClient({ address: `127.0.0.1:${l.port}` }),
      leaderConsul: () => new ConsulClient({ address: `127.0.0.1:${v.port}` }),
    };
  });
  afterEach(async () => {
    await local.close();
    await atLeader.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const register = async (fake: FakeConsul, clusterId: string) => {
    const client = new ConsulClient({ address: `127.0.0.1:${ports.get(fake)}` });
    await registerCluster(new ConsulStore(client), { consulServers: 1, managers: 1, clusterId });
    client.close();
  };
  const run = (facts: Record<string, unknown>) =>
    clusterIdentityCheck(node, { status: 'running', facts }).run(new AbortController().signal);

  it('passes when this node, its Consul and the leader address holder agree', async () => {
    await register(local, 'cluster-a');
    await register(atLeader, 'cluster-a');
    expect(await run({ role: 'follower', clusterId: 'cluster-a' })).toMatchObject({ status: 'PASS', detail: 'cluster cluster-a' });
  });

  it("fails with the fix when this node's Consul belongs to another cluster than the one it joined", async () => {
    await register(local, 'cluster-b');
    const result = await run({ role: 'follower', clusterId: 'cluster-a' });
    expect(result).toMatchObject({
      status: 'FAIL',
      detail: expect.stringContaining('joined cluster cluster-a, but its Consul now belongs to cluster cluster-b'),
    });
    expect(result.hint).toContain('cluster-lab stop');
  });

  it('fails when the leader address is held by a node of another cluster (a leader that bootstrapped alone)', async () => {
    await register(local, 'cluster-a');
    await register(atLeader, 'cluster-b');
    expect(await run({ role: 'follower', clusterId: 'cluster-a' })).toMatchObject({
      status: 'FAIL',
      detail: expect.stringContaining('192.168.200.1 is held by a node of cluster cluster-b'),
    });
  });

  it('fails when the KV holds no cluster record, and warns on a node that bootstrapped after nobody answered', async () => {
    expect(await run({ role: 'leader', clusterId: 'cluster-a' })).toMatchObject({
      status: 'FAIL',
      detail: expect.stringContaining('no cluster record'),
    });
    await register(local, 'cluster-a');
    await updateClusterFile(node, {
      clusterId: 'cluster-a',
      bootstrappedAlone: { at: '2026-01-01T00:00:00Z', candidates: ['192.168.200.102'] },
    });
    expect(await run({ role: 'leader', clusterId: 'cluster-a' })).toMatchObject({
      status: 'WARN',
      detail: expect.stringContaining('nobody answered at 192.168.200.102'),
    });
  });
});
