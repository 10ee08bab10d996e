import { InMemoryClusterStore } from '@cluster-lab/core';
import { initManager, join, reconcile, swarmKeys } from '@cluster-lab/swarm';
import { FakeDockerCluster } from '@cluster-lab/swarm/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SWARM_ERROR_GRACE_MS, SWARM_PENDING_GRACE_MS, SwarmRepair } from './swarm-repair.js';

const addr = (i: number) => `192.168.200.${100 + i}`;
let fake: FakeDockerCluster | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** node1 a manager, node2 a worker; a SwarmRepair for node2 on a clock the test moves. */
async function cluster() {
  fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
  const store = new InMemoryClusterStore();
  await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), managers: 1 });
  const first = await join({ docker: fake.docker('node2'), store, advertiseAddr: addr(2), labelTimeoutMs: 0 });
  let now = 1_000_000;
  let rejoins = 0;
  const docker = fake.docker('node2');
  const repair = new SwarmRepair({
    docker,
    store,
    rejoin: () => {
      rejoins++;
      return join({ docker, store, advertiseAddr: addr(2), labelTimeoutMs: 0, pendingGraceMs: 0 });
    },
    now: () => now,
  });
  return { fake, store, repair, first, rejoins: () => rejoins, advance: (ms: number) => (now += ms) };
}

describe('SwarmRepair', () => {
  it('leaves a healthy member alone', async () => {
    const c = await cluster();
    expect(await c.repair.round()).toEqual({});
    expect(c.rejoins()).toBe(0);
  });

  it('waits out a passing error, then re-joins a node stuck in "error" through a live manager', async () => {
    const c = await cluster();
    c.fake.strand('node2', "manager stopped: can't initialize raft node: dial tcp 192.168.200.103:2377: connect: no route to host");
    expect(await c.repair.round()).toMatchObject({ stuckState: 'error', error: expect.stringContaining("can't initialize raft node") });
    c.advance(SWARM_ERROR_GRACE_MS - 1);
    await c.repair.round();
    expect(c.rejoins()).toBe(0);
    c.advance(1);
    const state = await c.repair.round();
    expect(c.rejoins()).toBe(1);
    expect(state.lastRepair).toMatchObject({ ok: true, reason: expect.stringContaining('"error"') });
    expect(state.stuckSince).toBeUndefined();
    expect(c.fake.localState('node2')).toBe('active');
    // The old identity is a stale duplicate now; the reconciler removes it: one node2 remains.
    await reconcile({ docker: c.fake.docker('node1'), store: c.store });
    expect(c.fake.nodes().filter((n) => n.Description.Hostname === 'node2')).toHaveLength(1);
    expect(c.fake.nodes().find((n) => n.Description.Hostname === 'node2')?.ID).not.toBe(c.first.nodeId);
  });

  it('an error that clears by itself is forgotten (the grace starts again next time)', async () => {
    const c = await cluster();
    c.fake.strand('node2', 'manager stopped');
    await c.repair.round();
    c.fake.restart('node2', 0);
    await new Promise((r) => setTimeout(r, 10));
    c.advance(SWARM_ERROR_GRACE_MS);
    expect((await c.repair.round()).stuckSince).toBeUndefined();
    expect(c.rejoins()).toBe(0);
  });

  it('re-joins a node whose engine stays "pending" past its grace', async () => {
    const c = await cluster();
    c.fake.restart('node2', 600_000);
    await c.repair.round();
    c.advance(SWARM_PENDING_GRACE_MS - 1);
    await c.repair.round();
    expect(c.rejoins()).toBe(0);
    c.advance(1);
    expect((await c.repair.round()).lastRepair).toMatchObject({ ok: true, reason: expect.stringContaining('"pending"') });
    expect(c.fake.localState('node2')).toBe('active');
  });

  it('re-joins a node that a manager removed while it was cut off', async () => {
    const c = await cluster();
    await c.store.put(swarmKeys().removed(c.first.nodeId), 'node2');
    const state = await c.repair.round();
    expect(c.rejoins()).toBe(1);
    expect(state.lastRepair).toMatchObject({ ok: true, reason: expect.stringContaining('removed this node') });
  });
});
