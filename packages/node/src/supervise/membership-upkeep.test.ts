import type { ConsulMember } from '@cluster-lab/consul';
import { InMemoryClusterStore } from '@cluster-lab/core';
import { initManager, join, readJson, swarmKeys } from '@cluster-lab/swarm';
import { FakeDockerCluster } from '@cluster-lab/swarm/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { claimRoleSlot } from '../cluster-state/role-slots.js';
import { MembershipUpkeep, PROMOTE_KEY_PREFIX, SWARM_ONLY_DOWN_GRACE_MS } from './membership-upkeep.js';

const addr = (i: number) => `192.168.200.${100 + i}`;
let fake: FakeDockerCluster | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A Consul member list the test controls, with the force-leaves it received. */
class FakeMembers {
  readonly forceLeft: string[] = [];
  constructor(readonly list: ConsulMember[]) {}
  async members(): Promise<ConsulMember[]> {
    return this.list.map((m) => ({ ...m }));
  }
  async forceLeave(node: string): Promise<void> {
    this.forceLeft.push(node);
    const i = this.list.findIndex((m) => m.name === node);
    if (i >= 0) this.list.splice(i, 1);
  }
  set(name: string, patch: Partial<ConsulMember>): void {
    Object.assign(this.list.find((m) => m.name === name) as ConsulMember, patch);
  }
}

function member(i: number, role: 'server' | 'client'): ConsulMember {
  return { name: `node${i}`, address: addr(i), port: 8301, status: 'alive', role, datacenter: 'cluster-lab', tags: {} };
}

/** node1–node4 in one swarm: node1–3 managers and Consul servers (seats), node4 a worker and client. */
async function cluster() {
  fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2', 'node3', 'node4'] });
  const store = new InMemoryClusterStore();
  await initManager({ docker: fake.docker('node1'), store, advertiseAddr: addr(1), managers: 3 });
  for (const i of [2, 3, 4]) await join({ docker: fake.docker(`node${i}`), store, advertiseAddr: addr(i), labelTimeoutMs: 0 });
  for (const i of [1, 2, 3]) await claimRoleSlot(store, `node${i}`, { slots: 3 });
  const consul = new FakeMembers([member(1, 'server'), member(2, 'server'), member(3, 'server'), member(4, 'client')]);
  let now = 1_000_000;
  const upkeep = new MembershipUpkeep({
    docker: fake.docker('node1'),
    consul,
    store,
    hostname: 'node1',
    removeAfterMs: 60_000,
    servers: 3,
    now: () => now,
  });
  return { fake, store, consul, upkeep, advance: (ms: number) => (now += ms) };
}

const roleOf = (f: FakeDockerCluster, hostname: string) => f.nodes().find((n) => n.Description.Hostname === hostname)?.Spec.Role;

describe('MembershipUpkeep', () => {
  it('does nothing but watch while every node is up', async () => {
    const c = await cluster();
    expect(await c.upkeep.round()).toEqual({ removed: [], promoted: [] });
    expect(c.upkeep.state()).toMatchObject({ active: true, down: [], removed: [], promoted: [] });
  });

  it('is inactive on a node that is not the swarm leader', async () => {
    const c = await cluster();
    const other = new MembershipUpkeep({
      docker: c.fake.docker('node2'),
      consul: c.consul,
      store: c.store,
      hostname: 'node2',
      removeAfterMs: 1,
      servers: 3,
    });
    expect(await other.round()).toMatchObject({ skipped: 'this node is not the swarm leader' });
  });

  it('removes a manager down longer than removeAfter from both stores, frees its seat and gives it to a healthy node', async () => {
    const c = await cluster();
    c.fake.setDown('node3');
    c.consul.set('node3', { status: 'failed' });
    expect((await c.upkeep.round()).removed).toEqual([]);
    c.advance(30_000);
    expect((await c.upkeep.round()).removed).toEqual([]);
    expect(c.upkeep.state().down).toEqual([{ hostname: 'node3', since: 1_000_000 }]);
    c.advance(31_000);
    const round = await c.upkeep.round();
    expect(round.removed).toEqual(['node3']);
    expect(c.fake.nodes().map((n) => n.Description.Hostname)).not.toContain('node3');
    expect(c.consul.forceLeft).toEqual(['node3']);
    // node4 now holds the seat: swarm manager, asked to run a Consul server.
    expect(round.promoted).toEqual(['node4']);
    expect(roleOf(c.fake, 'node4')).toBe('manager');
    expect(await c.store.get(`${PROMOTE_KEY_PREFIX}node4`)).toBeDefined();
    const slots = await readJson<{ holders: Record<string, unknown> }>(c.store, swarmKeys().slots);
    expect(Object.keys(slots?.value.holders ?? {}).sort()).toEqual(['node1', 'node2', 'node4']);
    expect(c.upkeep.state()).toMatchObject({
      removed: [{ hostname: 'node3', swarm: true, consul: true, slotFreed: true }],
      promoted: [{ hostname: 'node4', swarm: true, consulRequested: true }],
    });
  });

  it('gives a node whose Consul agent is alive (starting, or re-joining the swarm) the extra grace before it is removed', async () => {
    const c = await cluster();
    c.fake.setDown('node3');
    await c.upkeep.round();
    c.advance(61_000);
    expect((await c.upkeep.round()).removed).toEqual([]);
    const slots = await readJson<{ holders: Record<string, unknown> }>(c.store, swarmKeys().slots);
    expect(Object.keys(slots?.value.holders ?? {})).toContain('node3');
    c.advance(SWARM_ONLY_DOWN_GRACE_MS);
    expect((await c.upkeep.round()).removed).toEqual(['node3']);
  });

  it('forgets a node that came back before removeAfter', async () => {
    const c = await cluster();
    c.consul.set('node4', { status: 'failed' });
    await c.upkeep.round();
    c.advance(50_000);
    c.consul.set('node4', { status: 'alive' });
    await c.upkeep.round();
    c.advance(50_000);
    expect((await c.upkeep.round()).removed).toEqual([]);
    expect(c.upkeep.state().down).toEqual([]);
  });

  it('re-aligns: a swarm manager that runs only a Consul client is asked to become a server, once', async () => {
    const c = await cluster();
    c.consul.set('node3', { role: 'client' });
    const round = await c.upkeep.round();
    expect(round.promoted).toEqual(['node3']);
    expect(await c.store.get(`${PROMOTE_KEY_PREFIX}node3`)).toBeDefined();
    expect((await c.upkeep.round()).promoted).toEqual([]);
  });

  it('says so when no healthy node can take a free seat', async () => {
    const c = await cluster();
    c.fake.setDown('node4');
    c.consul.set('node4', { status: 'failed' });
    c.fake.setDown('node3');
    c.consul.set('node3', { status: 'failed' });
    await c.upkeep.round();
    c.advance(61_000);
    const round = await c.upkeep.round();
    expect(round.removed.sort()).toEqual(['node3', 'node4']);
    expect(round.promoted).toEqual([]);
    // Two live nodes allow one seat (odd): node1 and node2 hold more than enough, nothing to do.
    expect(c.upkeep.state().note).toBeUndefined();
  });
});
