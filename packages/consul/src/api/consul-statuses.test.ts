import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClusterLabError } from '@cluster-lab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulClient } from './consul-client.js';
import { CONSUL_STATUSES, lookupStatus } from './consul-statuses.js';

/** An HTTP server on loopback that answers every request with the status and body the test sets. */
let server: Server;
let reply = { status: 200, body: 'true' };
let address: string;
beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(reply.status, { 'Content-Type': 'text/plain' });
    res.end(reply.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function failure(status: number, body: string, call: (c: ConsulClient) => Promise<unknown>): Promise<ClusterLabError> {
  reply = { status, body };
  const client = new ConsulClient({ address });
  try {
    return (await call(client).then(
      () => undefined,
      (e: unknown) => e,
    )) as ClusterLabError;
  } finally {
    client.close();
  }
}

describe('Consul HTTP status maps', () => {
  it('gives each failure of a call its own code, from the status alone', async () => {
    expect((await failure(413, 'Value exceeds 524288 byte limit', (c) => c.kv.put('big', 'x'))).code).toBe('CONSUL_VALUE_TOO_LARGE');
    expect((await failure(404, 'Session id not found', (c) => c.renewSession('s1'))).code).toBe('CONSUL_SESSION_NOT_FOUND');
    expect((await failure(429, 'rate limit exceeded', (c) => c.kv.put('k', 'v'))).code).toBe('CONSUL_RATE_LIMITED');
    expect((await failure(503, '', (c) => c.members())).code).toBe('CONSUL_UNAVAILABLE');
    expect((await failure(400, 'Invalid session TTL', (c) => c.createSession({ ttl: '1s' }))).code).toBe('CONSUL_BAD_REQUEST');
    expect((await failure(403, 'Permission denied', (c) => c.kv.delete('k'))).code).toBe('CONSUL_PERMISSION_DENIED');
  });

  it('500 is CONSUL_NO_LEADER only when Consul says so, else CONSUL_SERVER_ERROR; unmapped statuses are CONSUL_HTTP_ERROR', async () => {
    const noLeader = await failure(500, 'rpc error making call: No cluster leader', (c) => c.kv.get('x'));
    expect(noLeader.code).toBe('CONSUL_NO_LEADER');
    expect(noLeader.message).toBe(`Consul at ${address}: kv.get (key "x") failed with HTTP 500: rpc error making call: No cluster leader`);
    expect((await failure(500, 'raft: boltdb corrupt', (c) => c.kv.get('x'))).code).toBe('CONSUL_SERVER_ERROR');
    const teapot = await failure(418, 'short and stout', (c) => c.kv.get('x'));
    expect(teapot.code).toBe('CONSUL_HTTP_ERROR');
    expect(teapot.message).toBe(`Consul at ${address}: kv.get (key "x") failed with HTTP 418: short and stout`);
  });

  it('a status the call marks `true` is success: deregistering a service that is gone', async () => {
    reply = { status: 404, body: 'Unknown service ID "web"' };
    const client = new ConsulClient({ address });
    await expect(client.deregisterService('web')).resolves.toBeUndefined();
    client.close();
  });

  it('lookupStatus takes the first failure whose body matches, then the catch-all', () => {
    expect(lookupStatus(CONSUL_STATUSES.read, 200, '')).toBe(true);
    expect(lookupStatus(CONSUL_STATUSES.read, 404, '')).toBeUndefined();
    expect(lookupStatus(CONSUL_STATUSES.read, 500, 'No cluster leader')).toMatchObject({ code: 'CONSUL_NO_LEADER' });
    expect(lookupStatus(CONSUL_STATUSES.read, 500, 'boom')).toMatchObject({ code: 'CONSUL_SERVER_ERROR' });
  });
});
