import { describe, expect, it } from 'vitest';
import { InMemoryClusterStore } from './cluster-store.js';

describe('InMemoryClusterStore', () => {
  it('waitFor sees a put made right after it was called (no lost wake-up)', async () => {
    const store = new InMemoryClusterStore();
    const started = Date.now();
    const waiting = store.waitFor('k', { timeoutMs: 5000 });
    await store.put('k', 'v');
    expect(await waiting).toMatchObject({ value: 'v' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stores values with an index that changes on every write', async () => {
    const store = new InMemoryClusterStore();
    expect(await store.get('swarm/worker-token')).toBeUndefined();
    await store.put('swarm/worker-token', 'SWMTKN-1');
    const first = await store.get('swarm/worker-token');
    await store.put('swarm/worker-token', 'SWMTKN-2');
    const second = await store.get('swarm/worker-token');
    expect(first?.value).toBe('SWMTKN-1');
    expect(second?.value).toBe('SWMTKN-2');
    expect(second?.index).toBeGreaterThan(first?.index ?? Number.POSITIVE_INFINITY);
    await store.delete('swarm/worker-token');
    expect(await store.get('swarm/worker-token')).toBeUndefined();
    await store.delete('swarm/worker-token');
  });

  it('compare-and-set: index 0 creates only, a stale index loses', async () => {
    const store = new InMemoryClusterStore();
    expect(await store.cas('leader', 'node1', 0)).toBe(true);
    expect(await store.cas('leader', 'node2', 0)).toBe(false);
    const current = await store.get('leader');
    expect(await store.cas('leader', 'node2', current?.index ?? -1)).toBe(true);
    expect(await store.cas('leader', 'node3', current?.index ?? -1)).toBe(false);
    expect((await store.get('leader'))?.value).toBe('node2');
  });

  it('only one of many concurrent cas(…, 0) calls wins', async () => {
    const store = new InMemoryClusterStore();
    const wins = await Promise.all(Array.from({ length: 10 }, (_, i) => store.cas('managers/slot-1', `node${i}`, 0)));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });

  it('lists keys under a prefix, returning copies', async () => {
    const store = new InMemoryClusterStore();
    await store.put('swarm/manager-token', 'm');
    await store.put('swarm/worker-token', 'w');
    await store.put('consul/key', 'k');
    const listed = await store.list('swarm/');
    expect([...listed.keys()]).toEqual(['swarm/manager-token', 'swarm/worker-token']);
    (listed.get('swarm/worker-token') as { value: string }).value = 'changed';
    expect((await store.get('swarm/worker-token'))?.value).toBe('w');
  });

  it('waitFor resolves as soon as the key is written', async () => {
    const store = new InMemoryClusterStore();
    setTimeout(() => void store.put('other', 'x'), 5);
    setTimeout(() => void store.put('swarm/worker-token', 'T'), 20);
    const started = Date.now();
    const value = await store.waitFor('swarm/worker-token', { timeoutMs: 5000 });
    expect(value?.value).toBe('T');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('waitFor returns an existing key at once, and undefined after the timeout', async () => {
    const store = new InMemoryClusterStore();
    await store.put('k', 'v');
    expect((await store.waitFor('k', { timeoutMs: 0 }))?.value).toBe('v');
    const started = Date.now();
    expect(await store.waitFor('missing', { timeoutMs: 40 })).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('waitFor stops waiting when its signal aborts', async () => {
    const store = new InMemoryClusterStore();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    expect(await store.waitFor('missing', { timeoutMs: 10_000, signal: controller.signal })).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('lock is exclusive: a second holder waits for the release', async () => {
    const store = new InMemoryClusterStore();
    const order: string[] = [];
    const first = await store.lock('swarm/init', { timeoutMs: 1000 });
    const second = store.lock('swarm/init', { timeoutMs: 5000 }).then((l) => {
      order.push('second acquired');
      return l;
    });
    await new Promise((r) => setTimeout(r, 30));
    order.push('first releasing');
    await first.release();
    const lock2 = await second;
    expect(order).toEqual(['first releasing', 'second acquired']);
    await lock2.release();
  });

  it('a lock that stays held times out with LOCK_TIMEOUT, also on abort', async () => {
    const store = new InMemoryClusterStore();
    const held = await store.lock('k', { timeoutMs: 100 });
    await expect(store.lock('k', { timeoutMs: 30 })).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
      message: 'lock "k" not acquired within 30 ms',
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 10);
    const started = Date.now();
    await expect(store.lock('k', { timeoutMs: 10_000, signal: controller.signal })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(2000);
    await held.release();
    // Other keys are independent.
    await (await store.lock('other', { timeoutMs: 10 })).release();
  });

  it('releasing twice never frees a later holder’s lock', async () => {
    const store = new InMemoryClusterStore();
    const a = await store.lock('k', { timeoutMs: 10 });
    await a.release();
    const b = await store.lock('k', { timeoutMs: 10 });
    await a.release();
    await expect(store.lock('k', { timeoutMs: 20 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await b.release();
  });

  it('supports await using for locks', async () => {
    const store = new InMemoryClusterStore();
    {
      await using _lock = await store.lock('k', { timeoutMs: 10 });
      await expect(store.lock('k', { timeoutMs: 10 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    }
    await (await store.lock('k', { timeoutMs: 10 })).release();
  });
});
