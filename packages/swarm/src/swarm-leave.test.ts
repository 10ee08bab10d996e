import { InMemoryClusterStore } from '@cluster-lab/core';
import { afterEach, describe, expect, it } from 'vitest';
import { swarmKeys } from './store-keys.js';
import { join } from './swarm-join.js';
import { LEADER_HANDOVER_GRACE_MS, leave } from './swarm-leave.js';
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

async function cluster(n: number) {
  fake = await FakeDockerCluster.create({ hostnames: Array.from({ length: n }, (_, i) => `node${i + 1}`) });
  const store = new InMemoryClusterStore();
  await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1) });
  reconciler = startReconciler({ docker: fake.docker('node1'), store, intervalMs: 200 });
  const joined = await Promise.all(
    Array.from({ length: n - 1 }, (_, i) =>
      join({ docker: (fake as FakeDockerCluster).docker(`node${i + 2}`), store, advertiseAddr: addr(i + 2), labelTimeoutMs: 2_000 }),
    ),
  );
  return { fake, store, joined };
}

describe('leave', () => {
  it('is a no-op outside a swarm', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1'] });
    await expect(leave({ docker: fake.docker('node1') })).resolves.toMatchObject({ left: false, wasManager: false });
    expect(fake.requests.map((r) => r.path)).toEqual(['/info']);
  });

  it('a worker leaves without force and marks its ID for removal', async () => {
    const { fake, store, joined } = await cluster(4);
    const worker = joined.find((j) => j.role === 'worker');
    if (!worker) throw new Error('expected a worker');
    const result = await leave({ docker: fake.docker(worker.hostname), store });
    expect(result).toMatchObject({ left: true, wasManager: false, demoted: false, forced: false });
    expect(fake.requests.filter((r) => r.path === '/swarm/leave' && r.hostname === worker.hostname).map((r) => r.query)).toEqual([
      { force: 'false' },
    ]);
    expect(fake.localState(worker.hostname)).toBe('inactive');
    expect(await store.get(keys.node(worker.hostname))).toBeUndefined();
    // The leader's next round removes the down entry because of the left/<id> marker.
    await reconcile({ docker: fake.docker('node1'), store });
    expect(fake.nodes().map((n) => n.Description.Hostname)).not.toContain(worker.hostname);
    expect(await store.get(keys.left(worker.nodeId))).toBeUndefined();
  });

  it('an unreachable store (the leader and its Consul went first) never keeps a node in: one failed call, then none', async () => {
    const { fake, store, joined } = await cluster(3);
    const manager = joined.find((j) => j.role === 'manager');
    if (!manager) throw new Error('expected a manager');
    await reconciler?.stop();
    reconciler = undefined;
    const calls: string[] = [];
    const gone = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return async () => {
          calls.push(String(property));
          throw new Error('request timed out (3000ms)');
        };
      },
    });
    const events: string[] = [];
    const result = await leave({
      docker: fake.docker(manager.hostname),
      store: gone,
      onEvent: (e) => e.type === 'log' && events.push(e.message),
    });
    expect(result).toMatchObject({ left: true, wasManager: true, demoted: true, forced: false });
    expect(fake.localState(manager.hostname)).toBe('inactive');
    expect(calls).toEqual(['put']);
    expect(events).toContainEqual(expect.stringContaining('the cluster store is unreachable'));
    // A forced retry with the same store (what `stop` does after a failed graceful leave) asks it nothing either.
    await leave({ docker: fake.docker(manager.hostname), store: gone, force: true });
    expect(calls).toEqual(['put']);
  });

  it('a manager demotes itself first, then leaves without force, and frees its slot', async () => {
    const { fake, store } = await cluster(3);
    const result = await leave({ docker: fake.docker('node2'), store });
    expect(result).toMatchObject({ left: true, wasManager: true, demoted: true, forced: false, lastManager: false });
    const demote = fake.requests.findIndex(
      (r) => r.hostname === 'node2' && r.path.endsWith('/update') && (r.body as { Role?: string }).Role === 'worker',
    );
    const leaveIndex = fake.requests.findIndex((r) => r.hostname === 'node2' && r.path === '/swarm/leave');
    expect(demote).toBeGreaterThan(-1);
    expect(demote).toBeLessThan(leaveIndex);
    expect(fake.requests[demote]?.query.version).toMatch(/^\d+$/);
    expect(fake.requests.filter((r) => r.path === '/swarm/leave' && r.hostname === 'node2').map((r) => r.query)).toEqual([
      { force: 'false' },
    ]);
    expect(Object.keys(JSON.parse((await store.get(keys.slots))?.value ?? '{}').holders)).not.toContain('node2');
  });

  it('refuses to step down when the remaining managers would lose quorum', async () => {
    const { fake, store } = await cluster(3);
    fake.setDown('node3');
    await expect(leave({ docker: fake.docker('node2'), store })).rejects.toMatchObject({
      code: 'SWARM_QUORUM_AT_RISK',
      message: 'node2 cannot step down: only 2 of 3 managers are reachable',
    });
    expect(fake.localState('node2')).toBe('active');
    await expect(leave({ docker: fake.docker('node2'), store, force: true })).resolves.toMatchObject({ forced: true, demoted: false });
  });

  it('the last manager refuses while others are up, waits for them, and leaves with force at the end', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
    const store = new InMemoryClusterStore();
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), managers: 1 });
    await join({ docker: fake.docker('node2'), store, advertiseAddr: addr(2), labelTimeoutMs: 0 });
    await expect(leave({ docker: fake.docker('node1'), store })).rejects.toMatchObject({
      code: 'SWARM_LAST_MANAGER',
      message: 'node1 is the last manager and node2 still is in the swarm',
    });
    const leader = leave({ docker: fake.docker('node1'), store, waitForOthersMs: 3_000 });
    await new Promise((r) => setTimeout(r, 100));
    await leave({ docker: fake.docker('node2'), store });
    await expect(leader).resolves.toMatchObject({ left: true, lastManager: true, forced: true });
    expect(fake.requests.filter((r) => r.path === '/swarm/leave' && r.hostname === 'node1').map((r) => r.query)).toEqual([
      { force: 'true' },
    ]);
    // The swarm is gone: its keys are cleared so the next start begins fresh.
    expect((await store.list(`${keys.prefix}/`)).size).toBe(0);
  });

  it('stops a whole 5-node cluster (followers in parallel, then the leader): every engine inactive', async () => {
    const { fake, store } = await cluster(5);
    await reconciler?.stop();
    reconciler = undefined;
    const results = await Promise.all([2, 3, 4, 5].map((i) => leave({ docker: fake.docker(`node${i}`), store })));
    expect(results.filter((r) => r.demoted)).toHaveLength(2);
    await leave({ docker: fake.docker('node1'), store, waitForOthersMs: 2_000 });
    for (let i = 1; i <= 5; i++) expect(fake.localState(`node${i}`)).toBe('inactive');
    expect(fake.clusterId).toBeUndefined();
  });

  it('is idempotent: leaving twice succeeds', async () => {
    const { fake, store } = await cluster(2);
    await leave({ docker: fake.docker('node2'), store });
    await expect(leave({ docker: fake.docker('node2'), store })).resolves.toMatchObject({ left: false });
  });

  it('a simultaneous stop of every manager: the others step down, the Raft leader waits and leaves last, never demoting itself', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2', 'node3'], demotionDelayMs: 300 });
    const store = new InMemoryClusterStore();
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1) });
    await Promise.all(
      [2, 3].map((i) => join({ docker: (fake as FakeDockerCluster).docker(`node${i}`), store, advertiseAddr: addr(i), labelTimeoutMs: 0 })),
    );
    expect(fake.nodes().filter((n) => n.ManagerStatus)).toHaveLength(3);
    const before = fake.requests.length;
    const started = Date.now();
    const results = await Promise.all(
      ['node1', 'node2', 'node3'].map((h) => leave({ docker: (fake as FakeDockerCluster).docker(h), store })),
    );
    expect(results.map((r) => ({ demoted: r.demoted, lastManager: r.lastManager }))).toEqual([
      { demoted: false, lastManager: true },
      { demoted: true, lastManager: false },
      { demoted: true, lastManager: false },
    ]);
    // No handover: the leader never asked to be demoted, and nobody waited out a timeout.
    expect(fake.requests.slice(before).filter((r) => r.hostname === 'node1' && r.path.endsWith('/update'))).toEqual([]);
    expect(Date.now() - started).toBeLessThan(LEADER_HANDOVER_GRACE_MS + 2_000);
    for (const h of ['node1', 'node2', 'node3']) expect(fake.localState(h)).toBe('inactive');
    // The leader left only after both stepped-down managers were workers that had marked themselves left.
    const leaderLeave = fake.requests.findIndex((r) => r.hostname === 'node1' && r.path === '/swarm/leave');
    for (const h of ['node2', 'node3']) {
      expect(fake.requests.findIndex((r) => r.hostname === h && r.path === '/swarm/leave')).toBeLessThan(leaderLeave);
    }
    expect((await store.list(`${keys.prefix}/`)).size).toBe(0);
  });

  it('the Raft leader stopping alone hands over after the grace period: it demotes itself, the others keep a quorum', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2', 'node3'], demotionDelayMs: 100 });
    const store = new InMemoryClusterStore();
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1) });
    await Promise.all(
      [2, 3].map((i) => join({ docker: (fake as FakeDockerCluster).docker(`node${i}`), store, advertiseAddr: addr(i), labelTimeoutMs: 0 })),
    );
    const started = Date.now();
    const result = await leave({ docker: fake.docker('node1'), store });
    expect(Date.now() - started).toBeGreaterThanOrEqual(LEADER_HANDOVER_GRACE_MS);
    expect(result).toMatchObject({ demoted: true, lastManager: false, forced: false });
    const managers = fake.nodes().filter((n) => n.ManagerStatus);
    expect(managers.map((n) => n.Description.Hostname).sort()).toEqual(['node2', 'node3']);
    expect(managers.filter((n) => n.ManagerStatus?.Leader)).toHaveLength(1);
  });

  it('clusterDown: every node leaves at once with force, nobody demotes, the swarm records are cleared', async () => {
    const { fake, store } = await cluster(3);
    await reconciler?.stop();
    reconciler = undefined;
    const results = await Promise.all(['node1', 'node2', 'node3'].map((h) => leave({ docker: fake.docker(h), store, clusterDown: true })));
    expect(results.every((r) => r.left && r.forced && !r.demoted)).toBe(true);
    expect(fake.requests.filter((r) => r.path.endsWith('/update') && (r.body as { Role?: string }).Role === 'worker')).toEqual([]);
    for (const h of ['node1', 'node2', 'node3']) expect(fake.localState(h)).toBe('inactive');
    expect((await store.list(`${keys.prefix}/`)).size).toBe(0);
  });
});

describe('docker_gwbridge: removed by the leave only when start made it', () => {
  it('init and join report whether it was there before; the leave removes one the swarm made', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
    fake.addNetwork('node2', 'docker_gwbridge');
    const store = new InMemoryClusterStore();
    const init = await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1) });
    const joined = await join({ docker: fake.docker('node2'), store, advertiseAddr: addr(2), labelTimeoutMs: 0 });
    expect(init.gatewayBridgeExisted).toBe(false);
    expect(joined.gatewayBridgeExisted).toBe(true);
    expect(fake.networks('node1')).toEqual(['docker_gwbridge']);
    const follower = await leave({ docker: fake.docker('node2'), store, removeGatewayBridge: !joined.gatewayBridgeExisted });
    const leader = await leave({ docker: fake.docker('node1'), store, removeGatewayBridge: !init.gatewayBridgeExisted });
    expect(leader.removedGatewayBridge).toBe(true);
    expect(follower.removedGatewayBridge).toBe(false);
    expect(fake.networks('node1')).toEqual([]);
    // The one that predates Cluster Lab stays.
    expect(fake.networks('node2')).toEqual(['docker_gwbridge']);
  });

  it('waits for the ingress tear-down: a set-up still queued in dockerd when the node left brings the bridge back, and it is removed again', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1'] });
    await initManager({ docker: fake.docker('node1'), store: new InMemoryClusterStore(), advertiseAddr: addr(1) });
    await fake.docker('node1').swarmLeave({ force: true });
    // dockerd's queue: the set-up (re-creates docker_gwbridge) runs, then the tear-down removes `ingress`.
    fake.addNetwork('node1', 'ingress');
    const setUp = setTimeout(() => fake?.addNetwork('node1', 'docker_gwbridge'), 150);
    const tornDown = setTimeout(() => fake?.removeNetwork('node1', 'ingress'), 300);
    try {
      await expect(leave({ docker: fake.docker('node1'), removeGatewayBridge: true })).resolves.toMatchObject({
        removedGatewayBridge: true,
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(fake.networks('node1')).toEqual([]);
    } finally {
      clearTimeout(setUp);
      clearTimeout(tornDown);
    }
  });

  it('a retried stop (the node already left) still removes it, and a third finds nothing to do', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1'] });
    await initManager({ docker: fake.docker('node1'), store: new InMemoryClusterStore(), advertiseAddr: addr(1) });
    await fake.docker('node1').swarmLeave({ force: true });
    expect(fake.networks('node1')).toEqual(['docker_gwbridge']);
    await expect(leave({ docker: fake.docker('node1'), removeGatewayBridge: true })).resolves.toMatchObject({
      left: false,
      removedGatewayBridge: true,
    });
    await expect(leave({ docker: fake.docker('node1'), removeGatewayBridge: true })).resolves.toMatchObject({
      left: false,
      removedGatewayBridge: false,
    });
  });
});
