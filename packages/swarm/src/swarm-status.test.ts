import { InMemoryClusterStore, runChecks } from '@cluster-lab/core';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from './swarm-join.js';
import { initManager } from './swarm-manager.js';
import { status, swarmChecks } from './swarm-status.js';
import { FakeDockerCluster } from './testing/fake-docker-api.js';

const addr = (i: number) => `192.168.200.${i}`;
let fake: FakeDockerCluster | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function threeNodes() {
  fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2', 'node3', 'node4'] });
  const store = new InMemoryClusterStore();
  await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), labels: { zone: 'a' } });
  for (const i of [2, 3, 4]) await join({ docker: fake.docker(`node${i}`), store, advertiseAddr: addr(i), labelTimeoutMs: 0 });
  return fake;
}

describe('status', () => {
  it('lists nodes with role, availability, state, address and labels, plus quorum health, on a manager', async () => {
    const fake = await threeNodes();
    const s = await status({ docker: fake.docker('node1') });
    expect(s.local).toMatchObject({ hostname: 'node1', state: 'active', role: 'manager', address: addr(1), clusterId: fake.clusterId });
    expect(s.nodes?.map((n) => [n.hostname, n.role, n.availability, n.state, n.address, n.leader])).toEqual([
      ['node1', 'manager', 'active', 'ready', addr(1), true],
      ['node2', 'manager', 'active', 'ready', addr(2), false],
      ['node3', 'manager', 'active', 'ready', addr(3), false],
      ['node4', 'worker', 'active', 'ready', addr(4), false],
    ]);
    expect(s.nodes?.[0]?.labels).toEqual({ 'cluster-lab.role': 'leader', 'cluster-lab.arch': 'x86_64', zone: 'a' });
    expect(s.quorum).toEqual({ managers: 3, reachable: 3, quorum: 2, healthy: true, faultTolerance: 1, unreachable: [] });
  });

  it('reports an unhealthy quorum', async () => {
    const fake = await threeNodes();
    fake.setDown('node2');
    fake.setDown('node3');
    const s = await status({ docker: fake.docker('node1') });
    expect(s.quorum).toEqual({ managers: 3, reachable: 1, quorum: 2, healthy: false, faultTolerance: 0, unreachable: ['node2', 'node3'] });
    const report = await runChecks(swarmChecks({ docker: fake.docker('node1') }));
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['swarm-member', 'PASS'],
      ['swarm-quorum', 'FAIL'],
      ['swarm-nodes-ready', 'FAIL'],
    ]);
    expect(report.checks[1]?.hint).toBe('bring back node2, node3');
  });

  it('reports only local facts on a worker, and "none" outside a swarm', async () => {
    const fake = await threeNodes();
    const s = await status({ docker: fake.docker('node4') });
    expect(s.local).toMatchObject({ hostname: 'node4', role: 'worker', state: 'active' });
    expect(s.local.remoteManagers).toHaveLength(3);
    expect(s.nodes).toBeUndefined();
    expect(s.quorum).toBeUndefined();
    await fake.docker('node4').swarmLeave({ force: false });
    expect((await status({ docker: fake.docker('node4') })).local.role).toBe('none');
    const report = await runChecks(swarmChecks({ docker: fake.docker('node4') }));
    expect(report.checks.map((c) => c.status)).toEqual(['FAIL', 'SKIP', 'SKIP']);
  });
});
