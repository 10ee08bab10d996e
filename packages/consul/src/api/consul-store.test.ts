import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeConsul } from '../testing/index.js';
import { ConsulClient } from './consul-client.js';
import { ConsulStore, DEFAULT_STORE_PREFIX } from './consul-store.js';

let fake: FakeConsul;
let client: ConsulClient;
let store: ConsulStore;

beforeEach(async () => {
  fake = new FakeConsul({ nodeName: 'node1' });
  client = new ConsulClient({ address: `127.0.0.1:${(await fake.listen()).port}`, timeoutMs: 2000 });
  store = new ConsulStore(client);
});

afterEach(async () => {
  client.close();
  await fake.close();
});

describe('ConsulStore (ClusterStore on Consul KV)', () => {
  it('keeps keys under the cluster-lab/ prefix and reports ModifyIndex as index', async () => {
    await store.put('swarm/worker-token', 'SWMTKN-1-abc');
    expect(DEFAULT_STORE_PREFIX).toBe('cluster-lab/');
    const raw = fake.state.kvGet('cluster-lab/swarm/worker-token');
    expect(raw?.Value?.toString()).toBe('SWMTKN-1-abc');
    expect(await store.get('swarm/worker-token')).toEqual({ value: 'SWMTKN-1-abc', index: raw?.ModifyIndex });
    expect(await store.get('missing')).toBeUndefined();
  });

  it('cas: 0 creates only, a stale index loses, the current index wins', async () => {
    expect(await store.cas('leader', '192.168.200.1', 0)).toBe(true);
    expect(await store.cas('leader', '192.168.200.2', 0)).toBe(false);
    const v = await store.get('leader');
    await store.put('leader', '192.168.200.3');
    expect(await store.cas('leader', '192.168.200.4', v?.index ?? 0)).toBe(false);
    const now = await store.get('leader');
    expect(await store.cas('leader', '192.168.200.5', now?.index ?? 0)).toBe(true);
    expect((await store.get('leader'))?.value).toBe('192.168.200.5');
  });

  it('two writers racing with cas: exactly one wins', async () => {
    await store.put('slots', '[]');
    const { index } = (await store.get('slots'))!;
    const results = await Promise.all([store.cas('slots', '["a"]', index), store.cas('slots', '["b"]', index)]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('list returns keys relative to the store prefix; delete is idempotent', async () => {
    await store.put('managers/pi1', '1');
    await store.put('managers/pi2', '2');
    await store.put('other', 'x');
    const list = await store.list('managers/');
    expect([...list.keys()]).toEqual(['managers/pi1', 'managers/pi2']);
    expect(list.get('managers/pi2')?.value).toBe('2');
    await store.delete('managers/pi1');
    await store.delete('managers/pi1');
    expect([...(await store.list('managers/')).keys()]).toEqual(['managers/pi2']);
    expect((await store.list('nothing/')).size).toBe(0);
  });

  it('waitFor returns at once when the key exists', async () => {
    await store.put('k', 'v');
    expect((await store.waitFor('k', { timeoutMs: 1000 }))?.value).toBe('v');
  });

  it('waitFor blocks (blocking query) until another node writes the key', async () => {
    const other = new ConsulStore(new ConsulClient({ address: client.address }));
    const started = Date.now();
    setTimeout(() => void other.put('swarm/manager-token', 'SWMTKN-1-m'), 200);
    const got = await store.waitFor('swarm/manager-token', { timeoutMs: 5000 });
    expect(got?.value).toBe('SWMTKN-1-m');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(2000);
    other.client.close();
  });

  it('waitFor wakes only for its key, and returns undefined at the timeout', async () => {
    setTimeout(() => void store.put('unrelated', 'x'), 50);
    const started = Date.now();
    expect(await store.waitFor('never', { timeoutMs: 400 })).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('waitFor stops on abort', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    expect(await store.waitFor('never', { timeoutMs: 10_000, signal: ac.signal })).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('lock: contention between two holders, released by release() and by await using', async () => {
    const first = await store.lock('manager-slot', { timeoutMs: 1000 });
    await expect(store.lock('manager-slot', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'CONSUL_LOCK_TIMEOUT' });
    const second = store.lock('manager-slot', { timeoutMs: 3000 });
    await first.release();
    {
      await using held = await second;
      expect(fake.state.kvGet('cluster-lab/manager-slot')?.Session).toBeDefined();
      void held;
    }
    expect(fake.state.kvGet('cluster-lab/manager-slot')?.Session).toBeUndefined();
  });

  it('a holder whose node fails loses the lock (session invalidated) after the lock-delay', async () => {
    const held = await store.lock('l', { timeoutMs: 1000 });
    fake.state.setMemberStatus('node1', 'failed');
    expect(fake.state.kvGet('cluster-lab/l')?.Session).toBeUndefined();
    fake.state.setMemberStatus('node1', 'alive');
    const started = Date.now();
    const next = await store.lock('l', { timeoutMs: 5000 });
    // LOCK_DELAY (1 s) protects the dead holder's lock from immediate re-acquisition.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await next.release();
    await held.release().catch(() => {});
  });
});
