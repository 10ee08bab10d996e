import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryClusterStore } from '@cluster-lab/core';
import { planManagerCount, swarmKeys } from '@cluster-lab/swarm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readClusterFile, updateClusterFile } from './cluster-file.js';
import {
  CLUSTER_IDENTITY_KEY,
  readClusterIdentity,
  recordSwarmCluster,
  registerCluster,
  waitForClusterIdentity,
} from './cluster-identity.js';
import { claimRoleSlot, readRoleSlots, releaseRoleSlot } from './role-slots.js';

describe('the one slot table (Consul servers = Swarm managers)', () => {
  it('gives exactly `slots` of many simultaneous claimers a slot; a holder keeps it when it claims again', async () => {
    const store = new InMemoryClusterStore();
    const names = ['node1', 'node2', 'node3', 'node4', 'node5'];
    const got = await Promise.all(names.map((n) => claimRoleSlot(store, n, { slots: 3 })));
    expect(got.filter(Boolean)).toHaveLength(3);
    const holders = await readRoleSlots(store);
    expect(holders).toEqual(names.filter((_, i) => got[i]).sort());
    for (const h of holders) expect(await claimRoleSlot(store, h, { slots: 3 })).toBe(true);
    expect(await claimRoleSlot(store, names.find((_, i) => !got[i]) as string, { slots: 3 })).toBe(false);
  });

  it("is Swarm's own slots record, so Swarm's reconciler counts a server that is still joining as a manager-to-be", async () => {
    const store = new InMemoryClusterStore();
    for (const n of ['node1', 'node2', 'node3']) await claimRoleSlot(store, n, { slots: 3 });
    const slots = JSON.parse((await store.get(swarmKeys().slots))?.value ?? '{}') as { holders: Record<string, unknown> };
    expect(Object.keys(slots.holders).sort()).toEqual(['node1', 'node2', 'node3']);
    // 5 nodes: node1 is the only manager so far, node2 and node3 still join; node4 and node5 are Ready workers.
    const node = (id: string, role: 'manager' | 'worker') => ({
      id,
      hostname: id,
      role,
      healthy: true,
      promotable: role === 'worker',
      protected: id === 'node1',
    });
    const plan = planManagerCount({
      desired: 3,
      reserved: 2,
      nodes: [node('node1', 'manager'), node('node4', 'worker'), node('node5', 'worker')],
    });
    expect(plan.promote).toEqual([]);
  });

  it('frees a slot for good (membership upkeep), so the next claimer gets it', async () => {
    const store = new InMemoryClusterStore();
    await claimRoleSlot(store, 'node1', { slots: 1 });
    expect(await claimRoleSlot(store, 'node2', { slots: 1 })).toBe(false);
    expect(await releaseRoleSlot(store, 'node1')).toBe(true);
    expect(await releaseRoleSlot(store, 'node1')).toBe(false);
    expect(await claimRoleSlot(store, 'node2', { slots: 1 })).toBe(true);
  });
});

describe('cluster identity', () => {
  it('is created once: a second registration keeps the first identity', async () => {
    const store = new InMemoryClusterStore();
    const first = await registerCluster(store, { consulServers: 3, managers: 3 });
    expect(first.created).toBe(true);
    expect(first.identity.clusterId).toMatch(/^[0-9a-f-]{36}$/);
    const again = await registerCluster(store, { consulServers: 3, managers: 3 });
    expect(again).toEqual({ identity: first.identity, created: false });
  });

  it("records the swarm's id in it, and joiners wait for it", async () => {
    const store = new InMemoryClusterStore();
    const waiting = waitForClusterIdentity(store, { timeoutMs: 2_000 });
    const { identity } = await registerCluster(store, { consulServers: 3, managers: 3 });
    expect((await waiting).clusterId).toBe(identity.clusterId);
    expect(await recordSwarmCluster(store, 'swarm-abc')).toMatchObject({ clusterId: identity.clusterId, swarmClusterId: 'swarm-abc' });
    expect((await readClusterIdentity(store))?.swarmClusterId).toBe('swarm-abc');
  });

  it('a joiner that finds no identity in time fails with a hint naming the leader', async () => {
    const store = new InMemoryClusterStore();
    await expect(waitForClusterIdentity(store, { timeoutMs: 50, where: '192.168.200.1' })).rejects.toMatchObject({
      code: 'CLUSTER_IDENTITY_TIMEOUT',
      message: expect.stringContaining('192.168.200.1'),
    });
    await store.put(CLUSTER_IDENTITY_KEY, 'not json');
    expect(await readClusterIdentity(store)).toBeUndefined();
  });
});

describe('cluster.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-cluster-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is empty before the first start, merges updates, drops fields set to undefined, and is private', async () => {
    const node = { paths: { clusterFile: join(dir, 'state', 'cluster.json') } } as Parameters<typeof readClusterFile>[0];
    expect(await readClusterFile(node)).toEqual({ consulServers: [], swarmManagers: [], updatedAt: '' });
    await updateClusterFile(node, { clusterId: 'c-1', nodeAddress: '192.168.200.101', bootstrappedAlone: { at: 'now', candidates: [] } });
    const next = await updateClusterFile(node, { consulServers: ['192.168.200.102'], bootstrappedAlone: undefined });
    expect(next).toMatchObject({ clusterId: 'c-1', nodeAddress: '192.168.200.101', consulServers: ['192.168.200.102'] });
    expect(next.bootstrappedAlone).toBeUndefined();
    expect(JSON.parse(await readFile(node.paths.clusterFile, 'utf8'))).toEqual(next);
  });
});
