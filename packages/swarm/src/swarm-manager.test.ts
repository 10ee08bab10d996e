import { InMemoryClusterStore, type ProgressEvent } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { swarmKeys } from './store-keys.js';
import { initManager } from './swarm-manager.js';
import { FakeDockerCluster } from './testing/fake-docker-api.js';

const keys = swarmKeys();
let fake: FakeDockerCluster;
let store: InMemoryClusterStore;

beforeEach(async () => {
  fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'], arch: 'aarch64' });
  store = new InMemoryClusterStore();
});
afterEach(async () => {
  await fake.close();
});

describe('initManager', () => {
  it('initialises swarm mode bound to the cluster address only', async () => {
    const result = await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1' });
    expect(result).toMatchObject({ clusterId: fake.clusterId, hostname: 'node1', created: true });
    const init = fake.requests.filter((r) => r.path === '/swarm/init');
    expect(init).toEqual([
      {
        hostname: 'node1',
        method: 'POST',
        path: '/swarm/init',
        query: {},
        body: { ListenAddr: '192.168.200.1:2377', AdvertiseAddr: '192.168.200.1:2377', DataPathAddr: '192.168.200.1' },
      },
    ]);
  });

  it('on a fresh node, runs swarm init before its first store operation (a store still electing its leader overlaps the init)', async () => {
    let storeOpened = false;
    const initBeforeStore: boolean[] = [];
    const gated = new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (!storeOpened) initBeforeStore.push(fake.requests.some((r) => r.path === '/swarm/init'));
          storeOpened = true;
          return value.apply(target, args);
        };
      },
    });
    await initManager({ docker: fake.docker('node1'), store: gated, advertiseAddr: '192.168.200.1' });
    expect(initBeforeStore).toEqual([true]);
  });

  it('keeps manager slots that nodes claimed before the swarm existed', async () => {
    const since = Date.now();
    await store.put(keys.slots, JSON.stringify({ holders: { node2: { since }, node3: { nodeId: 'of-an-old-swarm', since } } }));
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1' });
    const { holders } = JSON.parse((await store.get(keys.slots))?.value ?? '{}');
    expect(Object.keys(holders).sort()).toEqual(['node1', 'node2', 'node3']);
    expect(holders.node3).toEqual({ since });
    expect(holders.node1.nodeId).toBeTruthy();
  });

  it('uses distinct listen and data-path addresses when given', async () => {
    await initManager({
      docker: fake.docker('node1'),
      store,
      advertiseAddr: '192.168.200.1',
      dataPathAddr: '192.168.200.2',
      listenAddr: '192.168.200.3',
    });
    expect(fake.requests.find((r) => r.path === '/swarm/init')?.body).toEqual({
      ListenAddr: '192.168.200.3:2377',
      AdvertiseAddr: '192.168.200.1:2377',
      DataPathAddr: '192.168.200.2',
    });
  });

  it('publishes tokens, manager address, slot and cluster record to the store — and never in events', async () => {
    const events: ProgressEvent[] = [];
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1', managers: 5, onEvent: (e) => events.push(e) });
    const worker = (await store.get(keys.workerToken))?.value ?? '';
    const manager = (await store.get(keys.managerToken))?.value ?? '';
    expect(worker).toMatch(/^SWMTKN-1-/);
    expect(manager).toMatch(/^SWMTKN-1-/);
    expect(worker).not.toBe(manager);
    const nodeId = fake.nodes()[0]?.ID;
    expect(JSON.parse((await store.get(keys.managers))?.value ?? '')).toEqual([{ nodeId, hostname: 'node1', addr: '192.168.200.1:2377' }]);
    expect(JSON.parse((await store.get(keys.cluster))?.value ?? '')).toMatchObject({ clusterId: fake.clusterId, managers: 5 });
    expect(Object.keys(JSON.parse((await store.get(keys.slots))?.value ?? '').holders)).toEqual(['node1']);
    const text = JSON.stringify(events);
    expect(text).not.toContain(worker);
    expect(text).not.toContain(manager);
    expect(text).not.toContain('SWMTKN');
    expect(events[0]).toEqual({ type: 'step-started', step: 'swarm-init', title: 'initialise Docker Swarm' });
    expect(events.at(-1)).toMatchObject({
      type: 'step-finished',
      step: 'swarm-init',
      detail: `swarm ${fake.clusterId} created on 192.168.200.1`,
    });
  });

  it('labels the leader with role, arch and user labels', async () => {
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1', labels: { storage: 'ssd' } });
    expect(fake.nodes()[0]?.Spec.Labels).toEqual({ 'cluster-lab.role': 'leader', 'cluster-lab.arch': 'aarch64', storage: 'ssd' });
  });

  it('is a no-op when already managing this cluster', async () => {
    const first = await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1' });
    const token = (await store.get(keys.workerToken))?.value;
    const second = await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1' });
    expect(second).toMatchObject({ clusterId: first.clusterId, nodeId: first.nodeId, created: false });
    expect(fake.requests.filter((r) => r.path === '/swarm/init')).toHaveLength(1);
    expect((await store.get(keys.workerToken))?.value).toBe(token);
    expect(fake.nodes()).toHaveLength(1);
  });

  it('adopts its own swarm when the store was wiped (same advertise address)', async () => {
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1' });
    const fresh = new InMemoryClusterStore();
    const again = await initManager({ docker: fake.docker('node1'), store: fresh, advertiseAddr: '192.168.200.1' });
    expect(again.created).toBe(false);
    expect(JSON.parse((await fresh.get(keys.cluster))?.value ?? '').clusterId).toBe(fake.clusterId);
  });

  it('replaces the record of an earlier swarm when it creates a new one (stale store after a crash)', async () => {
    await store.put(keys.cluster, JSON.stringify({ clusterId: 'oldswarm', managers: 3, createdAt: '2026-01-01T00:00:00.000Z' }));
    await store.put(keys.workerToken, 'SWMTKN-1-old-old');
    const result = await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1' });
    expect(result.created).toBe(true);
    expect(JSON.parse((await store.get(keys.cluster))?.value ?? '').clusterId).toBe(fake.clusterId);
    expect((await store.get(keys.workerToken))?.value).not.toBe('SWMTKN-1-old-old');
  });

  it('refuses a swarm with another cluster ID', async () => {
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1' });
    await expect(
      initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1', clusterId: 'someotherid' }),
    ).rejects.toMatchObject({
      code: 'SWARM_OTHER_CLUSTER',
      message: `node1 manages swarm ${fake.clusterId}, not this cluster's swarm someotherid`,
      hint: expect.stringContaining('docker swarm leave --force'),
    });
  });

  it('refuses a foreign swarm advertised on another address', async () => {
    fake.joinForeignSwarm('node1', true, '10.0.0.5');
    await expect(initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1' })).rejects.toMatchObject({
      code: 'SWARM_OTHER_CLUSTER',
      message: expect.stringContaining('advertised on 10.0.0.5, not on the cluster address 192.168.200.1'),
    });
    expect(fake.requests.some((r) => r.path === '/swarm/init')).toBe(false);
  });

  it('refuses to lead from a worker', async () => {
    fake.joinForeignSwarm('node1', false);
    await expect(initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1' })).rejects.toMatchObject({
      code: 'SWARM_NOT_MANAGER',
    });
  });

  it('validates addresses and the manager count before touching Docker', async () => {
    await expect(initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1:2377' })).rejects.toMatchObject({
      code: 'SWARM_INVALID_OPTION',
      message: 'advertiseAddr "192.168.200.1:2377" is not an IPv4 address',
      errorClass: 'config',
    });
    await expect(initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1', managers: 4 })).rejects.toMatchObject({
      code: 'SWARM_INVALID_OPTION',
    });
    expect(fake.requests).toHaveLength(0);
  });

  it('maps Docker failures to ClusterLabErrors', async () => {
    fake.failNext({ method: 'POST', path: '/swarm/init', status: 400, message: 'invalid ListenAddr "x": missing port in address' });
    await expect(initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1' })).rejects.toMatchObject({
      code: 'SWARM_BAD_REQUEST',
      message: 'could not initialise the swarm on 192.168.200.1: invalid ListenAddr "x": missing port in address',
    });
    expect(await store.get(keys.cluster)).toBeUndefined();
  });

  it('reports an unreachable Docker socket as a dependency error', async () => {
    const socketPath = fake.socketPath('node2');
    await fake.close();
    const Dockerode = (await import('dockerode')).default;
    await expect(initManager({ docker: new Dockerode({ socketPath }), store, advertiseAddr: '192.168.200.1' })).rejects.toMatchObject({
      code: 'DOCKER_UNREACHABLE',
      errorClass: 'dependency',
    });
  });
});
