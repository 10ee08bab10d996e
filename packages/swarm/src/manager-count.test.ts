import { describe, expect, it } from 'vitest';
import {
  assertManagerCount,
  canStepDown,
  emptySlots,
  type PlannerNode,
  planManagerCount,
  quorumOf,
  releaseManagerSlot,
  takeManagerSlot,
} from './manager-count.js';

const node = (id: string, role: 'manager' | 'worker', extra: Partial<PlannerNode> = {}): PlannerNode => ({
  id,
  hostname: id,
  role,
  healthy: true,
  promotable: role === 'worker',
  protected: false,
  ...extra,
});

describe('assertManagerCount', () => {
  it.each([1, 3, 5, 7])('accepts %i', (n) => expect(() => assertManagerCount(n)).not.toThrow());
  it.each([0, 2, 4, 9, 1.5, -1])('rejects %s with a config error naming the field', (n) => {
    expect(() => assertManagerCount(n)).toThrow(`swarm.managers is ${n}: must be an odd integer from 1 to 7`);
  });
});

describe('quorumOf / canStepDown', () => {
  it('computes Raft majorities', () => {
    expect([1, 2, 3, 4, 5, 7].map(quorumOf)).toEqual([1, 2, 2, 3, 3, 4]);
  });
  it('allows a step-down only when the rest keep a reachable majority', () => {
    expect(canStepDown({ managers: 3, reachable: 3 })).toBe(true); // 2 left, both reachable
    expect(canStepDown({ managers: 3, reachable: 2 })).toBe(false); // 2 left, 1 reachable < quorum(2)=2
    expect(canStepDown({ managers: 5, reachable: 3 })).toBe(false); // 4 left, 2 reachable < 3
    expect(canStepDown({ managers: 5, reachable: 4 })).toBe(true); // 4 left, 3 reachable
    expect(canStepDown({ managers: 1, reachable: 1 })).toBe(false); // the last manager cannot step down
  });
});

describe('takeManagerSlot', () => {
  it('hands out slots until `desired` are taken, then workers', () => {
    let slots = emptySlots();
    const roles: string[] = [];
    for (const host of ['n1', 'n2', 'n3', 'n4', 'n5']) {
      const d = takeManagerSlot({ slots, hostname: host, desired: 3, now: 1 });
      roles.push(d.role);
      slots = d.slots;
    }
    expect(roles).toEqual(['manager', 'manager', 'manager', 'worker', 'worker']);
    expect(Object.keys(slots.holders)).toEqual(['n1', 'n2', 'n3']);
  });
  it('is idempotent for a node already holding a slot', () => {
    const slots = { holders: { n1: { since: 1 }, n2: { since: 1 }, n3: { since: 1 } } };
    expect(takeManagerSlot({ slots, hostname: 'n2', desired: 3, now: 2 })).toEqual({ role: 'manager', slots, changed: false });
  });
  it('frees a slot on release', () => {
    const slots = { holders: { n1: { since: 1 }, n2: { since: 1 } } };
    expect(releaseManagerSlot(slots, 'n2')).toEqual({ holders: { n1: { since: 1 } } });
    expect(releaseManagerSlot(slots, 'nx')).toEqual(slots);
  });
});

describe('planManagerCount', () => {
  it('promotes Ready workers up to the desired count, by hostname', () => {
    const nodes = [node('a', 'manager'), node('d', 'worker'), node('b', 'worker'), node('c', 'worker')];
    expect(planManagerCount({ desired: 3, reserved: 0, nodes })).toEqual({ target: 3, promote: ['b', 'c'], demote: [] });
  });
  it('counts reserved slots of joins in flight', () => {
    const nodes = [node('a', 'manager'), node('b', 'worker'), node('c', 'worker')];
    expect(planManagerCount({ desired: 3, reserved: 1, nodes })).toEqual({ target: 3, promote: ['b'], demote: [] });
  });
  it('never aims for an even count: 2 nodes keep 1 manager', () => {
    const nodes = [node('a', 'manager'), node('b', 'worker')];
    expect(planManagerCount({ desired: 3, reserved: 0, nodes })).toEqual({ target: 1, promote: [], demote: [] });
  });
  it('skips workers that are not promotable (down, drained, leaving, not ours)', () => {
    const nodes = [node('a', 'manager'), node('b', 'worker', { promotable: false }), node('c', 'worker'), node('d', 'worker')];
    expect(planManagerCount({ desired: 3, reserved: 0, nodes }).promote).toEqual(['c', 'd']);
  });
  it('demotes excess healthy managers but never the protected ones', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((h) => node(h, 'manager', { protected: h === 'e' }));
    expect(planManagerCount({ desired: 3, reserved: 0, nodes })).toEqual({ target: 3, promote: [], demote: ['d', 'c'] });
  });
  it('never demotes a real manager on account of a reservation (join in flight)', () => {
    const nodes = [node('a', 'manager'), node('b', 'manager'), node('c', 'manager')];
    expect(planManagerCount({ desired: 3, reserved: 1, nodes })).toEqual({ target: 3, promote: [], demote: [] });
  });
  it('leaves a cluster with the desired count alone', () => {
    const nodes = [node('a', 'manager'), node('b', 'manager'), node('c', 'manager'), node('d', 'worker')];
    expect(planManagerCount({ desired: 3, reserved: 0, nodes })).toEqual({ target: 3, promote: [], demote: [] });
  });
});
