import { InMemoryClusterStore, type ProgressEvent } from '@cluster-lab/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { swarmKeys } from './store-keys.js';
import { inRecordedSwarm, join } from './swarm-join.js';
import { leave } from './swarm-leave.js';
import { initManager } from './swarm-manager.js';
import { type Reconciler, reconcile, startReconciler } from './swarm-reconcile.js';
import { FakeDockerCluster } from './testing/fake-docker-api.js';

const keys = swarmKeys();
const addr = (i: number) => `192.168.200.${i}`;
let fake: FakeDockerCluster | undefined;
let reconciler: Reconciler | undefined;

afterEach(async () => {
  await reconciler?.stop();
  reconciler = undefined;
  await fake?.close();
  fake = undefined;
});

/** A fake cluster of n nodes with node1 initialised as leader and its reconciler running. */
async function leaderUp(n: number, managers = 3) {
  fake = await FakeDockerCluster.create({ hostnames: Array.from({ length: n }, (_, i) => `node${i + 1}`) });
  const store = new InMemoryClusterStore();
  await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), managers });
  reconciler = startReconciler({ docker: fake.docker('node1'), store, intervalMs: 200 });
  return { fake, store };
}

const joinNode = (f: FakeDockerCluster, store: InMemoryClusterStore, i: number, extra: Partial<Parameters<typeof join>[0]> = {}) =>
  join({ docker: f.docker(`node${i}`), store, advertiseAddr: addr(i), timeoutMs: 5_000, labelTimeoutMs: 3_000, ...extra });

describe('join', () => {
  it('sends the cluster address, the manager address and the right token', async () => {
    const { fake, store } = await leaderUp(2);
    const result = await joinNode(fake, store, 2);
    expect(result).toMatchObject({
      role: 'manager',
      hostname: 'node2',
      clusterId: fake.clusterId,
      alreadyMember: false,
      labelsApplied: true,
    });
    const request = fake.requests.find((r) => r.path === '/swarm/join');
    expect(request?.body).toEqual({
      ListenAddr: '192.168.200.2:2377',
      AdvertiseAddr: '192.168.200.2:2377',
      DataPathAddr: '192.168.200.2',
      RemoteAddrs: ['192.168.200.1:2377'],
      JoinToken: (await store.get(keys.managerToken))?.value,
    });
  });

  it('never joins through itself: a manager back from a crash finds its own stale entry first in the list', async () => {
    const { fake, store } = await leaderUp(2);
    const managers = JSON.parse((await store.get(keys.managers))?.value ?? '[]');
    await store.put(keys.managers, JSON.stringify([{ nodeId: 'old', hostname: 'node2', addr: '192.168.200.2:2377' }, ...managers]));
    await expect(joinNode(fake, store, 2)).resolves.toMatchObject({ role: 'manager' });
    const joins = fake.requests.filter((r) => r.path === '/swarm/join').map((r) => (r.body as { RemoteAddrs: string[] }).RemoteAddrs);
    expect(joins).toEqual([['192.168.200.1:2377']]);
  });

  it('joins as the role the caller decided in the slots record, labelled with its cluster role', async () => {
    const { fake, store } = await leaderUp(4);
    const slots = JSON.parse((await store.get(keys.slots))?.value ?? '{}');
    await store.put(keys.slots, JSON.stringify({ holders: { ...slots.holders, node3: { since: Date.now() } } }));
    // node2 comes first and a slot is free, but the caller decided "worker"; node3 holds its slot.
    await expect(joinNode(fake, store, 2, { role: 'worker' })).resolves.toMatchObject({ role: 'worker' });
    await expect(joinNode(fake, store, 3, { role: 'manager', nodeRole: 'leader' })).resolves.toMatchObject({ role: 'manager' });
    const record = JSON.parse((await store.get(keys.node('node3')))?.value ?? '{}');
    expect(record.role).toBe('leader');
  });

  it('a manager whose slot was freed while it started takes a free one again; with none free it fails with SWARM_NO_MANAGER_SLOT', async () => {
    const { fake, store } = await leaderUp(5);
    await expect(joinNode(fake, store, 2, { role: 'manager' })).resolves.toMatchObject({ role: 'manager' });
    expect(Object.keys(JSON.parse((await store.get(keys.slots))?.value ?? '{}').holders)).toContain('node2');
    await expect(joinNode(fake, store, 3)).resolves.toMatchObject({ role: 'manager' });
    await expect(joinNode(fake, store, 4, { role: 'manager' })).rejects.toMatchObject({
      code: 'SWARM_NO_MANAGER_SLOT',
      message: expect.stringContaining('all 3 are taken'),
    });
  });

  it('simultaneous joiners never exceed the manager count (5 nodes → 3 managers)', async () => {
    const { fake, store } = await leaderUp(5);
    const results = await Promise.all([2, 3, 4, 5].map((i) => joinNode(fake, store, i)));
    expect(results.filter((r) => r.role === 'manager')).toHaveLength(2);
    const nodes = fake.nodes();
    expect(nodes).toHaveLength(5);
    expect(nodes.filter((n) => n.Spec.Role === 'manager')).toHaveLength(3);
    expect(nodes.every((n) => n.Status.State === 'ready')).toBe(true);
    expect(Object.keys(JSON.parse((await store.get(keys.slots))?.value ?? '{}').holders).sort()).toEqual(
      ['node1', ...results.filter((r) => r.role === 'manager').map((r) => r.hostname)].sort(),
    );
  });

  it('keeps a configured count of 5 with 8 simultaneous joiners', async () => {
    const { fake, store } = await leaderUp(9, 5);
    const results = await Promise.all([2, 3, 4, 5, 6, 7, 8, 9].map((i) => joinNode(fake, store, i)));
    expect(results.filter((r) => r.role === 'manager')).toHaveLength(4);
    expect(fake.nodes().filter((n) => n.Spec.Role === 'manager')).toHaveLength(5);
  });

  it('labels every follower through the leader-side reconciler', async () => {
    const { fake, store } = await leaderUp(4);
    const results = await Promise.all([2, 3, 4].map((i) => joinNode(fake, store, i, { labels: { storage: 'ssd' } })));
    expect(results.every((r) => r.labelsApplied)).toBe(true);
    const labels = Object.fromEntries(fake.nodes().map((n) => [n.Description.Hostname, n.Spec.Labels]));
    expect(labels).toEqual({
      node1: { 'cluster-lab.role': 'leader', 'cluster-lab.arch': 'x86_64' },
      node2: { 'cluster-lab.role': 'follower', 'cluster-lab.arch': 'x86_64', storage: 'ssd' },
      node3: { 'cluster-lab.role': 'follower', 'cluster-lab.arch': 'x86_64', storage: 'ssd' },
      node4: { 'cluster-lab.role': 'follower', 'cluster-lab.arch': 'x86_64', storage: 'ssd' },
    });
  });

  it('waits for the leader with progress events and no token in them', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
    const store = new InMemoryClusterStore();
    const events: ProgressEvent[] = [];
    const joining = join({
      docker: fake.docker('node2'),
      store,
      advertiseAddr: addr(2),
      timeoutMs: 5_000,
      labelTimeoutMs: 0,
      onEvent: (e) => events.push(e),
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.requests.some((r) => r.path === '/swarm/join')).toBe(false);
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1) });
    await expect(joining).resolves.toMatchObject({ role: 'manager' });
    expect(events[0]).toEqual({ type: 'step-started', step: 'swarm-join', title: 'join Docker Swarm' });
    expect(events.at(-1)).toMatchObject({ type: 'step-finished', step: 'swarm-join', detail: 'joined as manager' });
    expect(JSON.stringify(events)).not.toContain('SWMTKN');
  });

  it('times out with a hint when no tokens appear', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node2'] });
    await expect(
      join({ docker: fake.docker('node2'), store: new InMemoryClusterStore(), advertiseAddr: addr(2), timeoutMs: 150 }),
    ).rejects.toMatchObject({
      code: 'SWARM_TOKENS_TIMEOUT',
      message: 'no swarm join tokens appeared in the cluster store within 150 ms',
      hint: expect.stringContaining('leader'),
    });
  });

  it('gives each way the swarm record can fail its own code', async () => {
    const { fake, store } = await leaderUp(2);
    const broken = new InMemoryClusterStore();
    await broken.put(keys.cluster, '{not json');
    await expect(joinNode(fake, broken, 2)).rejects.toMatchObject({
      code: 'SWARM_RECORD_INVALID',
      hint: expect.stringContaining('republishes'),
    });

    await store.delete(keys.managerToken);
    await expect(joinNode(fake, store, 2)).rejects.toMatchObject({
      code: 'SWARM_TOKEN_MISSING',
      message: 'the manager join token is missing from the cluster store',
    });

    await store.put(keys.managerToken, 'SWMTKN-1-x-y');
    await store.delete(keys.managers);
    await expect(joinNode(fake, store, 2)).rejects.toMatchObject({ code: 'SWARM_MANAGERS_MISSING' });

    const cancelled = new AbortController();
    cancelled.abort();
    await expect(joinNode(fake, new InMemoryClusterStore(), 2, { signal: cancelled.signal })).rejects.toMatchObject({
      code: 'SWARM_JOIN_CANCELLED',
    });
  });

  it('reports progress every 5 s while it waits for the tokens', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node2'] });
    const events: ProgressEvent[] = [];
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    try {
      const joining = join({
        docker: fake.docker('node2'),
        store: new InMemoryClusterStore(),
        advertiseAddr: addr(2),
        timeoutMs: 12_000,
        onEvent: (e) => events.push(e),
      });
      const outcome = joining.catch((error: unknown) => error);
      // setImmediate is not faked: it lets the real socket I/O (`GET /info`) finish between steps.
      const ioTurn = () => new Promise((r) => setImmediate(r));
      while (!fake.requests.some((r) => r.path === '/info')) await ioTurn();
      for (let i = 0; i < 30; i++) await ioTurn();
      for (let second = 0; second < 13; second++) {
        await vi.advanceTimersByTimeAsync(1_000);
        await ioTurn();
      }
      expect(await outcome).toMatchObject({ code: 'SWARM_TOKENS_TIMEOUT' });
    } finally {
      vi.useRealTimers();
    }
    expect(events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message)).toEqual([
      'waiting for the leader to publish swarm join tokens (5 s)',
      'waiting for the leader to publish swarm join tokens (10 s)',
    ]);
  });

  it('is idempotent: a second join is a no-op', async () => {
    const { fake, store } = await leaderUp(3);
    const first = await joinNode(fake, store, 3);
    const again = await joinNode(fake, store, 3);
    expect(again).toMatchObject({ role: first.role, nodeId: first.nodeId, alreadyMember: true, labelsApplied: true });
    expect(fake.requests.filter((r) => r.path === '/swarm/join')).toHaveLength(1);
    expect(fake.nodes()).toHaveLength(2);
  });

  it('waits out a dockerd restart (pending) and does not duplicate the node', async () => {
    const { fake, store } = await leaderUp(5);
    await Promise.all([2, 3, 4, 5].map((i) => joinNode(fake, store, i)));
    const before = fake.nodes().find((n) => n.Description.Hostname === 'node5');
    expect(before?.Spec.Role).toBe('worker');
    fake.restart('node5', 100);
    expect(fake.localState('node5')).toBe('pending');
    const again = await joinNode(fake, store, 5);
    expect(again).toMatchObject({ alreadyMember: true, nodeId: before?.ID, role: 'worker' });
    expect(fake.nodes().filter((n) => n.Description.Hostname === 'node5')).toHaveLength(1);
    expect(fake.nodes().every((n) => n.Status.State === 'ready')).toBe(true);
  });

  it('gives up an identity that stays pending (back from a power-off) and joins afresh; reconcile drops the stale entry', async () => {
    const { fake, store } = await leaderUp(5);
    await Promise.all([2, 3, 4, 5].map((i) => joinNode(fake, store, i)));
    const before = fake.nodes().find((n) => n.Description.Hostname === 'node5');
    fake.restart('node5', 60_000);
    const again = await join({ docker: fake.docker('node5'), store, advertiseAddr: addr(5), pendingGraceMs: 200, labelTimeoutMs: 0 });
    expect(again.alreadyMember).toBe(false);
    expect(again.nodeId).not.toBe(before?.ID);
    expect(fake.localState('node5')).toBe('active');
    await reconcile({ docker: fake.docker('node1'), store });
    expect(
      fake
        .nodes()
        .filter((n) => n.Description.Hostname === 'node5')
        .map((n) => n.ID),
    ).toEqual([again.nodeId]);
  });

  it('never gives up a pending identity in a swarm this cluster does not know: SWARM_OTHER_CLUSTER, nothing left', async () => {
    const { fake, store } = await leaderUp(3);
    fake.joinForeignSwarm('node3', false);
    fake.restart('node3', 60_000);
    const error = await join({ docker: fake.docker('node3'), store, advertiseAddr: addr(3), pendingGraceMs: 100 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SWARM_OTHER_CLUSTER', message: expect.stringContaining('stays "pending"') });
    expect(fake.localState('node3')).toBe('pending');
    expect(fake.requests.filter((r) => r.path === '/swarm/leave')).toHaveLength(0);
  });

  it('re-joins cleanly after leaving: the stale entry is removed, not duplicated', async () => {
    const { fake, store } = await leaderUp(5);
    await Promise.all([2, 3, 4, 5].map((i) => joinNode(fake, store, i)));
    const old = fake.nodes().find((n) => n.Description.Hostname === 'node4');
    await leave({ docker: fake.docker('node4'), store });
    const again = await joinNode(fake, store, 4);
    expect(again.alreadyMember).toBe(false);
    expect(again.nodeId).not.toBe(old?.ID);
    await expect
      .poll(
        () =>
          fake
            .nodes()
            .filter((n) => n.Description.Hostname === 'node4')
            .map((n) => n.ID),
        { timeout: 3_000 },
      )
      .toEqual([again.nodeId]);
    expect(fake.nodes()).toHaveLength(5);
  });

  it('removes the stale entry of a node that was reset without leaving (same hostname, down)', async () => {
    const { fake, store } = await leaderUp(4);
    await Promise.all([2, 3, 4].map((i) => joinNode(fake, store, i)));
    const old = fake.nodes().find((n) => n.Description.Hostname === 'node4');
    // node4's disk was wiped: Swarm still lists it (down), the engine is fresh.
    fake.setDown('node4');
    await fake.docker('node4').swarmLeave({ force: true });
    const again = await joinNode(fake, store, 4);
    await expect
      .poll(
        () =>
          fake
            .nodes()
            .filter((n) => n.Description.Hostname === 'node4')
            .map((n) => n.ID),
        { timeout: 3_000 },
      )
      .toEqual([again.nodeId]);
    expect(again.nodeId).not.toBe(old?.ID);
  });

  it('re-joins a node a manager removed by hand (it still believes it is a member)', async () => {
    const { fake, store } = await leaderUp(4);
    await Promise.all([2, 3, 4].map((i) => joinNode(fake, store, i)));
    const old = fake.nodes().find((n) => n.Description.Hostname === 'node4');
    await fake
      .docker('node1')
      .getNode(old?.ID as string)
      .remove({ force: true });
    expect(fake.localState('node4')).toBe('active');
    const events: ProgressEvent[] = [];
    const again = await joinNode(fake, store, 4, { onEvent: (e) => events.push(e) });
    expect(again).toMatchObject({ alreadyMember: false, labelsApplied: true, role: 'worker' });
    expect(again.nodeId).not.toBe(old?.ID);
    expect(
      fake
        .nodes()
        .filter((n) => n.Description.Hostname === 'node4')
        .map((n) => n.ID),
    ).toEqual([again.nodeId]);
    expect(events.some((e) => e.type === 'log' && e.message === `node4 (${old?.ID}) was removed from the swarm; joining again`)).toBe(true);
    expect(await store.get(keys.removed(old?.ID as string))).toBeUndefined();
  });

  it('refuses to join from another swarm, or leaves it when asked', async () => {
    const { fake, store } = await leaderUp(2);
    fake.joinForeignSwarm('node2', false);
    await expect(joinNode(fake, store, 2)).rejects.toMatchObject({
      code: 'SWARM_OTHER_CLUSTER',
      message: `node2 is a member of a swarm other than this cluster's swarm ${fake.clusterId}`,
    });
    await expect(joinNode(fake, store, 2, { leaveOtherSwarm: true })).resolves.toMatchObject({
      alreadyMember: false,
      clusterId: fake.clusterId,
    });
  });

  it('retries a transient join failure and frees nothing it still needs', async () => {
    const { fake, store } = await leaderUp(2);
    fake.failNext({
      method: 'POST',
      path: '/swarm/join',
      status: 500,
      message: "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online.",
    });
    await expect(joinNode(fake, store, 2)).resolves.toMatchObject({ role: 'manager' });
    expect(fake.requests.filter((r) => r.path === '/swarm/join')).toHaveLength(2);
  });

  it('releases its manager slot when a manager join fails for good', async () => {
    const { fake, store } = await leaderUp(3);
    fake.failNext({
      method: 'POST',
      path: '/swarm/join',
      hostname: 'node2',
      status: 400,
      message: 'rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster',
    });
    await expect(joinNode(fake, store, 2)).rejects.toMatchObject({ code: 'SWARM_BAD_TOKEN' });
    expect(Object.keys(JSON.parse((await store.get(keys.slots))?.value ?? '{}').holders)).toEqual(['node1']);
    await expect(joinNode(fake, store, 3)).resolves.toMatchObject({ role: 'manager' });
  });

  it('returns labelsApplied=false with a warning when no manager reconciles in time', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2', 'node3', 'node4'] });
    const store = new InMemoryClusterStore();
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), managers: 1 });
    const events: ProgressEvent[] = [];
    const result = await join({
      docker: fake.docker('node2'),
      store,
      advertiseAddr: addr(2),
      labelTimeoutMs: 100,
      onEvent: (e) => events.push(e),
    });
    expect(result).toMatchObject({ role: 'worker', labelsApplied: false });
    expect(events.some((e) => e.type === 'log' && e.level === 'warn' && e.message.includes('no manager applied the labels of node2'))).toBe(
      true,
    );
  });
});

describe('inRecordedSwarm', () => {
  it('tells a member of the recorded swarm from a node left in an older one, and knows when it cannot tell', async () => {
    const { fake, store } = await leaderUp(3);
    await joinNode(fake, store, 2);
    await joinNode(fake, store, 3);
    expect(await inRecordedSwarm({ docker: fake.docker('node2'), store })).toBe(true);
    expect(await inRecordedSwarm({ docker: fake.docker('node1'), store })).toBe(true);
    // The leader restarted alone and recorded a new swarm: the followers are in the old one.
    const record = JSON.parse((await store.get(keys.cluster))?.value ?? '{}') as Record<string, unknown>;
    await store.put(
      keys.cluster,
      JSON.stringify({ ...record, clusterId: 'a-new-swarm', createdAt: new Date(Date.now() + 1000).toISOString() }),
    );
    await store.put(keys.managers, JSON.stringify([{ nodeId: 'new-leader', hostname: 'node1', addr: `${addr(1)}:2377` }]));
    expect(await inRecordedSwarm({ docker: fake.docker('node2'), store })).toBe(false);
    await store.delete(keys.cluster);
    expect(await inRecordedSwarm({ docker: fake.docker('node2'), store })).toBeUndefined();
  });
});
