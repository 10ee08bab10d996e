import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterLabError } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeConsul, FakeConsulState } from '../testing/index.js';
import { ConsulClient, splitAddress } from './consul-client.js';

let fake: FakeConsul;
let client: ConsulClient;

beforeEach(async () => {
  fake = new FakeConsul({ nodeName: 'node1', datacenter: 'lab', address: '127.0.0.1' });
  const { port } = await fake.listen();
  client = new ConsulClient({ address: `127.0.0.1:${port}`, timeoutMs: 2000 });
});

afterEach(async () => {
  client.close();
  await fake.close();
});

describe('ConsulClient against FakeConsul', () => {
  it('waitForLeader returns the leader server address', async () => {
    await expect(client.waitForLeader({ timeoutMs: 1000 })).resolves.toBe('127.0.0.1:8300');
    await expect(client.leader()).resolves.toBe('127.0.0.1:8300');
  });

  it('peers lists the Raft voters (GET /v1/status/peers)', async () => {
    await expect(client.peers()).resolves.toEqual(['127.0.0.1:8300']);
  });

  it('waitForLeader times out with CONSUL_NO_LEADER and the documented message', async () => {
    fake.state.leader = undefined;
    // 1 s, not less: on a loaded machine (the unit tests run beside the integration tests) a
    // shorter wait can end inside a poll, and the hint then names the slow answer instead.
    const error = await client.waitForLeader({ timeoutMs: 1000, pollMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterLabError);
    expect((error as ClusterLabError).code).toBe('CONSUL_NO_LEADER');
    expect((error as ClusterLabError).message).toBe(`no Consul leader after 1 s at ${client.address} — is the leader up?`);
    expect((error as ClusterLabError).hint).toMatch(/no server is elected/);
  });

  it('waitForLeader reports 30 s in seconds and names an unreachable agent in the hint', async () => {
    const dead = new ConsulClient({ address: '127.0.0.1:1', timeoutMs: 200 });
    const started = Date.now();
    const error = (await dead.waitForLeader({ timeoutMs: 1000, pollMs: 100 }).catch((e: unknown) => e)) as ClusterLabError;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.message).toBe('no Consul leader after 1 s at 127.0.0.1:1 — is the leader up?');
    expect(error.hint).toMatch(/did not answer .*ECONNREFUSED/);
    dead.close();
  });

  it('waitForLeader waits until a leader is elected', async () => {
    fake.state.leader = undefined;
    setTimeout(() => {
      fake.state.leader = '10.0.0.1:8300';
    }, 150);
    await expect(client.waitForLeader({ timeoutMs: 2000, pollMs: 50 })).resolves.toBe('10.0.0.1:8300');
  });

  it('members maps gossip members to typed records', async () => {
    fake.state.upsertMember({ name: 'node2', address: '192.168.200.101', server: false, datacenter: 'lab', nodeId: 'id2' }, '1.20.0');
    fake.state.setMemberStatus('node2', 'failed');
    const members = await client.members();
    expect(members.map((m) => [m.name, m.address, m.status, m.role, m.datacenter, m.port])).toEqual([
      ['node1', '127.0.0.1', 'alive', 'server', 'lab', 8301],
      ['node2', '192.168.200.101', 'failed', 'client', 'lab', 8301],
    ]);
  });

  it('kv put/get/list/delete round-trips UTF-8 values with indexes', async () => {
    await client.kv.put('a/one', 'héllo');
    await client.kv.put('a/two', '');
    await client.kv.put('b', 'x', { flags: 42 });
    const one = await client.kv.get('a/one');
    expect(one).toMatchObject({ key: 'a/one', value: 'héllo', flags: 0, lockIndex: 0 });
    expect(one?.modifyIndex).toBe(one?.createIndex);
    expect((await client.kv.get('a/two'))?.value).toBe('');
    expect((await client.kv.get('b'))?.flags).toBe(42);
    expect((await client.kv.list('a/')).map((e) => [e.key, e.value])).toEqual([
      ['a/one', 'héllo'],
      ['a/two', ''],
    ]);
    await client.kv.delete('a/one');
    await client.kv.delete('a/one');
    expect(await client.kv.get('a/one')).toBeUndefined();
    await client.kv.delete('a/', { recurse: true });
    expect(await client.kv.list('a/')).toEqual([]);
  });

  it('kv cas writes only at the current index (0 = create only)', async () => {
    expect(await client.kv.cas('k', 'v1', 0)).toBe(true);
    expect(await client.kv.cas('k', 'v2', 0)).toBe(false);
    const e = await client.kv.get('k');
    expect(await client.kv.cas('k', 'v2', (e?.modifyIndex ?? 0) + 1)).toBe(false);
    expect(await client.kv.cas('k', 'v2', e?.modifyIndex ?? 0)).toBe(true);
    expect(await client.kv.cas('k', 'v3', e?.modifyIndex ?? 0)).toBe(false);
    expect((await client.kv.get('k'))?.value).toBe('v2');
  });

  it('kv watch blocks until the key changes, then returns the new index', async () => {
    await client.kv.put('w', '1');
    const first = await client.kv.watch('w', 0, 1000);
    const started = Date.now();
    setTimeout(() => void client.kv.put('w', '2'), 100);
    const next = await client.kv.watch('w', first.index, 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(next.entry?.value).toBe('2');
    expect(next.index).toBeGreaterThan(first.index);
  });

  it('kv watch returns after the wait time when nothing changes', async () => {
    await client.kv.put('w', '1');
    const first = await client.kv.watch('w', 0, 1000);
    const started = Date.now();
    const same = await client.kv.watch('w', first.index, 200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(same.index).toBe(first.index);
  });

  it('lock is exclusive between two sessions and hands over on release', async () => {
    const a = await client.lock('locks/slot', { timeoutMs: 1000, value: 'node1' });
    expect((await client.kv.get('locks/slot'))?.session).toBe(a.session);
    const error = (await client.lock('locks/slot', { timeoutMs: 300 }).catch((e: unknown) => e)) as ClusterLabError;
    expect(error.code).toBe('CONSUL_LOCK_TIMEOUT');
    expect(error.message).toBe(`lock "locks/slot" not acquired within 300 ms (held by session ${a.session})`);
    const waiting = client.lock('locks/slot', { timeoutMs: 3000, value: 'node2' });
    setTimeout(() => void a.release(), 100);
    const b = await waiting;
    expect(b.session).not.toBe(a.session);
    const entry = await client.kv.get('locks/slot');
    expect(entry).toMatchObject({ session: b.session, value: 'node2', lockIndex: 2 });
    await b.release();
    await b.release();
    expect((await client.kv.get('locks/slot'))?.session).toBeUndefined();
    expect(fake.state.sessions.size).toBe(0);
  });

  it('a failed lock attempt destroys its session', async () => {
    const a = await client.lock('l', { timeoutMs: 500 });
    await client.lock('l', { timeoutMs: 100 }).catch(() => {});
    expect([...fake.state.sessions.keys()]).toEqual([a.session]);
    await a.release();
  });

  it('registerService puts the service in the agent and the catalog', async () => {
    await client.registerService({ name: 'web', port: 8080, tags: ['v1'], meta: { owner: 'lab' } });
    expect(await client.serviceNodes('web')).toEqual([{ node: 'node1', address: '127.0.0.1', port: 8080, serviceId: 'web' }]);
    await client.deregisterService('web');
    expect(await client.serviceNodes('web')).toEqual([]);
  });

  it('agentHealth reports identity, leader, serfHealth and member counts', async () => {
    await expect(client.agentHealth()).resolves.toEqual({
      nodeName: 'node1',
      datacenter: 'lab',
      server: true,
      version: '1.20.0',
      leader: '127.0.0.1:8300',
      serfHealth: 'passing',
      membersAlive: 1,
      membersTotal: 1,
    });
  });

  it('maps "No cluster leader" to CONSUL_NO_LEADER', async () => {
    fake.state.leader = undefined;
    const error = (await client.kv.get('x').catch((e: unknown) => e)) as ClusterLabError;
    expect(error.code).toBe('CONSUL_NO_LEADER');
    expect(error.message).toBe(`Consul at ${client.address}: kv.get (key "x") failed with HTTP 500: No cluster leader`);
  });

  it('maps connection failures to CONSUL_UNREACHABLE', async () => {
    const dead = new ConsulClient({ address: '127.0.0.1:1', timeoutMs: 500 });
    const error = (await dead.kv.get('x').catch((e: unknown) => e)) as ClusterLabError;
    expect(error.code).toBe('CONSUL_UNREACHABLE');
    expect(error.message).toMatch(/^cannot reach Consul at 127\.0\.0\.1:1 \(kv\.get\): .*ECONNREFUSED/);
    dead.close();
  });

  it('a hung agent hits the per-request timeout and becomes CONSUL_UNREACHABLE', async () => {
    // Accepts connections, never answers.
    const hung = createServer(() => {});
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const port = (hung.address() as AddressInfo).port;
    const slow = new ConsulClient({ address: `127.0.0.1:${port}`, timeoutMs: 150 });
    const started = Date.now();
    const error = (await slow.kv.get('t').catch((e: unknown) => e)) as ClusterLabError;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.code).toBe('CONSUL_UNREACHABLE');
    expect(error.message).toBe(`cannot reach Consul at 127.0.0.1:${port} (kv.get): request timed out (150ms)`);
    slow.close();
    await new Promise<void>((r) => {
      hung.close(() => r());
      hung.closeAllConnections();
    });
  });
});

describe('ACL token', () => {
  let acl: FakeConsul;
  let address: string;
  beforeEach(async () => {
    acl = new FakeConsul({ nodeName: 'n1', aclToken: 's3cret' });
    address = `127.0.0.1:${(await acl.listen()).port}`;
  });
  afterEach(() => acl.close());

  it('sends the token on every request', async () => {
    const c = new ConsulClient({ address, token: 's3cret' });
    await c.kv.put('k', 'v');
    expect((await c.kv.get('k'))?.value).toBe('v');
    c.close();
  });

  it('waitForLeader with a token waits for the cluster to accept it, and names a wrong one after the grace time', async () => {
    const good = new ConsulClient({ address, token: 's3cret' });
    expect(await good.waitForLeader({ timeoutMs: 2000 })).toBe('127.0.0.1:8300');
    good.close();
    const wrong = new ConsulClient({ address, token: 'another-secret' });
    const started = Date.now();
    const error = (await wrong.waitForLeader({ timeoutMs: 5000, pollMs: 20, aclGraceMs: 200 }).catch((e: unknown) => e)) as ClusterLabError;
    expect(error.code).toBe('CONSUL_PERMISSION_DENIED');
    expect(error.hint).toContain('cluster-lab secret fingerprint');
    expect(Date.now() - started).toBeLessThan(2000);
    wrong.close();
  });

  it('a missing or wrong token is CONSUL_PERMISSION_DENIED with a config hint', async () => {
    const none = new ConsulClient({ address });
    const e1 = (await none.kv.get('k').catch((e: unknown) => e)) as ClusterLabError;
    expect(e1.code).toBe('CONSUL_PERMISSION_DENIED');
    expect(e1.hint).toBe('the cluster has ACLs enabled: give this node the cluster secret (secretFile), or set consul.aclToken');
    expect(e1.errorClass).toBe('config');
    const wrong = new ConsulClient({ address, token: 'nope' });
    const e2 = (await wrong.kv.put('k', 'secret-value').catch((e: unknown) => e)) as ClusterLabError;
    expect(e2.message).toBe(`Consul at ${address}: kv.put (key "k") failed with HTTP 403: ACL not found`);
    expect(e2.message).not.toContain('secret-value');
    none.close();
    wrong.close();
  });
});

describe('client agents forward to the server', () => {
  it('KV and sessions written through a client agent land in the server state', async () => {
    const state = new FakeConsulState('lab');
    const server = new FakeConsul({ nodeName: 's1', state, datacenter: 'lab' });
    state.upsertMember(server.memberSpec(), '1.20.0');
    state.leader = '127.0.0.1:8300';
    const up = await server.listen();
    const agent = new FakeConsul({ nodeName: 'c1', server: false, upstream: up.url, datacenter: 'lab' });
    state.upsertMember(agent.memberSpec(), '1.20.0');
    const c = new ConsulClient({ address: `127.0.0.1:${(await agent.listen()).port}` });
    await c.kv.put('k', 'v');
    expect(state.kvGet('k')?.Value?.toString()).toBe('v');
    const lock = await c.lock('l', { timeoutMs: 500 });
    expect([...state.sessions.values()].map((s) => s.Node)).toEqual(['c1']);
    await lock.release();
    expect((await c.members()).map((m) => m.name)).toEqual(['s1', 'c1']);
    expect(await c.leader()).toBe('127.0.0.1:8300');
    c.close();
    await agent.close();
    await server.close();
  });
});

describe('splitAddress', () => {
  it('parses host:port and defaults the port', () => {
    expect(splitAddress('192.168.200.1:8500')).toEqual({ host: '192.168.200.1', port: 8500 });
    expect(splitAddress('localhost')).toEqual({ host: 'localhost', port: 8500 });
  });
  it('rejects malformed addresses', () => {
    expect(() => splitAddress('http://x:1')).toThrow('Consul address "http://x:1" must be host:port, e.g. 192.168.200.1:8500');
    expect(() => splitAddress('300.1.1.1:8500')).toThrow(/must be host:port/);
    expect(() => splitAddress('h:70000')).toThrow(/must be host:port/);
  });
});

describe('forceLeave', () => {
  async function withServer(
    answer: (url: string) => { status: number; body: string },
    fn: (address: string, seen: string[]) => Promise<void>,
  ) {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-consul-token'] ?? ''}`);
      const { status, body } = answer(req.url ?? '');
      res.writeHead(status).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await fn(`127.0.0.1:${(server.address() as AddressInfo).port}`, seen);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('PUTs /v1/agent/force-leave/<node>?prune=1 with the token; an unknown node counts as gone', async () => {
    await withServer(
      (url) => (url.includes('ghost') ? { status: 500, body: "agent: No node found with name 'ghost'" } : { status: 200, body: '' }),
      async (address, seen) => {
        const client = new ConsulClient({ address, token: 'tok' });
        await client.forceLeave('node3');
        await client.forceLeave('ghost');
        await client.forceLeave('node4', { prune: false });
        client.close();
        expect(seen).toEqual([
          'PUT /v1/agent/force-leave/node3?prune=1 tok',
          'PUT /v1/agent/force-leave/ghost?prune=1 tok',
          'PUT /v1/agent/force-leave/node4 tok',
        ]);
      },
    );
  });

  it('maps a refusal by the status map', async () => {
    await withServer(
      () => ({ status: 403, body: 'Permission denied' }),
      async (address) => {
        const client = new ConsulClient({ address });
        await expect(client.forceLeave('node3')).rejects.toMatchObject({ code: 'CONSUL_PERMISSION_DENIED' });
        client.close();
      },
    );
  });
});

describe('lock right after the agent (re)joined', () => {
  it.each([
    'rpc error making call: rpc error making call: Missing node registration',
    "rpc error making call: Missing check 'serfHealth' registration",
  ])('retries the session while the servers answer "%s", then takes the lock', async (answer) => {
    let creates = 0;
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/v1/session/create')) {
        creates++;
        if (creates <= 2) return void res.writeHead(500).end(answer);
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ID":"s-1"}');
      }
      if (req.url?.startsWith('/v1/kv/')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('true');
      if (req.url?.startsWith('/v1/session/destroy')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('true');
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new ConsulClient({ address: `127.0.0.1:${(server.address() as AddressInfo).port}` });
    try {
      const lock = await client.lock('cluster-lab/swarm/locks/slots', { timeoutMs: 5_000 });
      expect(lock.session).toBe('s-1');
      expect(creates).toBe(3);
      await lock.release();
    } finally {
      client.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
