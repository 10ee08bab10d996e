import { InMemoryClusterStore, type ProgressEvent } from '@cluster-lab/core';
import { afterEach, describe, expect, it } from 'vitest';
import { swarmKeys } from './store-keys.js';
import { join } from './swarm-join.js';
import { initManager } from './swarm-manager.js';
import { managerAddresses, reconcile, startReconciler } from './swarm-reconcile.js';
import { FakeDockerCluster } from './testing/fake-docker-api.js';

const keys = swarmKeys();
const addr = (i: number) => `192.168.200.${i}`;
let fake: FakeDockerCluster | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('reconcile', () => {
  it('is a no-op on a worker', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
    const store = new InMemoryClusterStore();
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), managers: 1 });
    await join({ docker: fake.docker('node2'), store, advertiseAddr: addr(2), labelTimeoutMs: 0 });
    await expect(reconcile({ docker: fake.docker('node2'), store })).resolves.toMatchObject({
      skipped: 'this node is not a swarm manager',
    });
  });

  it('promotes workers when managers are missing, and refreshes join addresses', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2', 'node3'] });
    const store = new InMemoryClusterStore();
    // Recorded with 1 manager: both followers join as workers.
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), managers: 1 });
    await Promise.all(
      [2, 3].map((i) => join({ docker: (fake as FakeDockerCluster).docker(`node${i}`), store, advertiseAddr: addr(i), labelTimeoutMs: 0 })),
    );
    const events: ProgressEvent[] = [];
    const result = await reconcile({ docker: fake.docker('node1'), store, managers: 3, onEvent: (e) => events.push(e) });
    expect(result.promoted.sort()).toEqual(['node2', 'node3']);
    expect(fake.nodes().filter((n) => n.Spec.Role === 'manager')).toHaveLength(3);
    expect(result.managers.map((m) => m.hostname)).toEqual(['node1', 'node2', 'node3']);
    expect(JSON.parse((await store.get(keys.managers))?.value ?? '[]')).toHaveLength(3);
    expect(Object.keys(JSON.parse((await store.get(keys.slots))?.value ?? '{}').holders).sort()).toEqual(['node1', 'node2', 'node3']);
    expect(events.filter((e) => e.type === 'log' && e.message.startsWith('promoted'))).toHaveLength(2);
  });

  it('retries a label write that raced another writer (version conflict)', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1'] });
    const store = new InMemoryClusterStore();
    fake.failNext({
      method: 'POST',
      path: /^\/nodes\/.+\/update$/,
      status: 500,
      message: 'rpc error: code = Unknown desc = update out of sequence',
    });
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), labels: { zone: 'a' } });
    expect(fake.nodes()[0]?.Spec.Labels).toMatchObject({ zone: 'a', 'cluster-lab.role': 'leader' });
    expect(fake.requests.filter((r) => r.path.endsWith('/update'))).toHaveLength(2);
  });

  it('leaves nodes without a record untouched (hand-joined nodes are not ours)', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
    const store = new InMemoryClusterStore();
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), managers: 1 });
    const token = (await store.get(keys.workerToken))?.value ?? '';
    await fake
      .docker('node2')
      .swarmJoin({ RemoteAddrs: [`${addr(1)}:2377`], JoinToken: token, AdvertiseAddr: `${addr(2)}:2377`, ListenAddr: `${addr(2)}:2377` });
    const result = await reconcile({ docker: fake.docker('node1'), store, managers: 3 });
    expect(result).toMatchObject({ labelled: [], promoted: [], removed: [] });
    expect(fake.nodes().find((n) => n.Description.Hostname === 'node2')?.Spec.Labels).toEqual({});
  });

  it('lists manager join addresses with the Raft leader first and unreachable ones left out', () => {
    const n = (id: string, leader: boolean, reach: 'reachable' | 'unreachable') => ({
      ID: id,
      Version: { Index: 1 },
      Spec: { Role: 'manager' as const, Availability: 'active' as const },
      Description: { Hostname: id },
      Status: { State: 'ready' as const },
      ManagerStatus: { Leader: leader, Reachability: reach, Addr: `${id}:2377` },
    });
    expect(
      managerAddresses([n('a', false, 'reachable'), n('b', true, 'reachable'), n('c', false, 'unreachable')]).map((m) => m.hostname),
    ).toEqual(['b', 'a']);
  });
});

describe('startReconciler', () => {
  it('wakes on a join request at once and stops promptly', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
    const store = new InMemoryClusterStore();
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1) });
    const reconciler = startReconciler({ docker: fake.docker('node1'), store, intervalMs: 60_000 });
    const started = Date.now();
    const result = await join({ docker: fake.docker('node2'), store, advertiseAddr: addr(2), managers: 1, labelTimeoutMs: 5_000 });
    expect(result.labelsApplied).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    const stopping = Date.now();
    await reconciler.stop();
    expect(Date.now() - stopping).toBeLessThan(1_000);
    expect(reconciler.rounds).toBeGreaterThanOrEqual(1);
    await reconciler.stop();
  });

  it('does not consume requests on a worker', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
    const store = new InMemoryClusterStore();
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), managers: 1 });
    await join({ docker: fake.docker('node2'), store, advertiseAddr: addr(2), labelTimeoutMs: 0 });
    await store.put(keys.reconcileRequest, 'x');
    const onWorker = startReconciler({ docker: fake.docker('node2'), store, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 200));
    await onWorker.stop();
    expect(onWorker.rounds).toBe(0);
    expect(await store.get(keys.reconcileRequest)).toBeDefined();
  });
});
