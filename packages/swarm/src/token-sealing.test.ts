import { InMemoryClusterStore, openSealedValue } from '@cluster-lab/core';
import { afterEach, describe, expect, it } from 'vitest';
import { swarmKeys } from './store-keys.js';
import { join } from './swarm-join.js';
import { initManager } from './swarm-manager.js';
import { FakeDockerCluster } from './testing/fake-docker-api.js';
import { openSwarmToken, sealSwarmToken } from './token-sealing.js';

const keys = swarmKeys();
const KEY = Buffer.alloc(32, 1);
const OTHER = Buffer.alloc(32, 2);
let fake: FakeDockerCluster | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('sealed join tokens', () => {
  it('live at cluster-lab/swarm/tokens/… in Consul (the store adds cluster-lab/)', () => {
    expect(keys.managerToken).toBe('swarm/tokens/manager');
    expect(keys.workerToken).toBe('swarm/tokens/worker');
  });

  it('the leader publishes them sealed (bound to their key); a follower with the same key joins with the real token', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
    const store = new InMemoryClusterStore();
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1', tokenKey: KEY });
    const stored = (await store.get(keys.managerToken))?.value ?? '';
    expect(stored).toMatch(/^clenc1\./);
    expect(stored).not.toContain('SWMTKN');
    expect((await store.get(keys.workerToken))?.value).not.toContain('SWMTKN');
    const token = openSealedValue(KEY, keys.managerToken, stored);
    expect(token).toMatch(/^SWMTKN-1-/);
    // Moved to the worker's key, the sealed manager token no longer opens.
    expect(() => openSealedValue(KEY, keys.workerToken, stored)).toThrow(/does not open/);
    const result = await join({
      docker: fake.docker('node2'),
      store,
      advertiseAddr: '192.168.200.2',
      tokenKey: KEY,
      timeoutMs: 5000,
      labelTimeoutMs: 0,
    });
    expect(result.role).toBe('manager');
    expect(fake.requests.find((r) => r.path === '/swarm/join')?.body).toMatchObject({ JoinToken: token });
  });

  it('a follower whose secret differs gets SWARM_TOKEN_SEALED_WITH_ANOTHER_SECRET, joins nothing and frees its slot', async () => {
    fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
    const store = new InMemoryClusterStore();
    await initManager({ docker: fake.docker('node1'), store, advertiseAddr: '192.168.200.1', tokenKey: KEY });
    const error = await join({
      docker: fake.docker('node2'),
      store,
      advertiseAddr: '192.168.200.2',
      tokenKey: OTHER,
      timeoutMs: 5000,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SWARM_TOKEN_SEALED_WITH_ANOTHER_SECRET',
      exitCode: 2,
      message: expect.stringContaining("this node's secret differs from the cluster's"),
      hint: expect.stringContaining('cluster-lab secret fingerprint'),
    });
    expect((error as Error).message).not.toMatch(/clenc1|SWMTKN/);
    expect(fake.requests.some((r) => r.path === '/swarm/join')).toBe(false);
    expect(Object.keys(JSON.parse((await store.get(keys.slots))?.value ?? '{}').holders ?? {})).not.toContain('node2');
  });

  it('a mixed cluster (one side open, the other with a secret) is refused with a clear code each way', () => {
    const sealed = sealSwarmToken(KEY, keys.managerToken, 'SWMTKN-1-abc-def');
    expect(() => openSwarmToken(undefined, keys.managerToken, sealed)).toThrow(expect.objectContaining({ code: 'SWARM_TOKEN_SEALED' }));
    expect(() => openSwarmToken(KEY, keys.managerToken, 'SWMTKN-1-abc-def')).toThrow(
      expect.objectContaining({ code: 'SWARM_TOKEN_NOT_SEALED' }),
    );
    expect(openSwarmToken(undefined, keys.managerToken, 'SWMTKN-1-abc-def')).toBe('SWMTKN-1-abc-def');
    expect(sealSwarmToken(undefined, keys.managerToken, 'SWMTKN-1-abc-def')).toBe('SWMTKN-1-abc-def');
  });

  it('opens with the previous key while a new secret rolls out; seals with the current one', () => {
    const sealedOld = sealSwarmToken(OTHER, keys.workerToken, 'SWMTKN-1-w');
    expect(openSwarmToken([KEY, OTHER], keys.workerToken, sealedOld)).toBe('SWMTKN-1-w');
    expect(openSwarmToken(KEY, keys.workerToken, sealSwarmToken([KEY, OTHER], keys.workerToken, 'SWMTKN-1-w'))).toBe('SWMTKN-1-w');
  });
});
