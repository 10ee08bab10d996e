import { readFileSync, writeFileSync } from 'node:fs';
import Consul from 'consul';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeConsul, parseGoDuration } from './fake-consul.js';

const GOLDEN = new URL('./fixtures/http-api.golden.json', import.meta.url);

interface Exchange {
  request: { method: string; path: string; body?: string };
  response: { status: number; headers: Record<string, string>; body: unknown };
}

let fake: FakeConsul;
let base: string;

beforeEach(async () => {
  fake = new FakeConsul({ nodeName: 'node1', nodeId: '6a0e0bf1-4c5d-4a3e-9b1e-000000000001', datacenter: 'dc1' });
  base = (await fake.listen()).url;
});
afterEach(() => fake.close());

async function send(method: string, path: string, body?: string): Promise<Exchange> {
  const res = await fetch(`${base}${path}`, { method, body });
  const text = await res.text();
  const headers: Record<string, string> = {};
  for (const h of ['content-type', 'x-consul-index', 'x-consul-knownleader']) {
    const v = res.headers.get(h);
    if (v !== null) headers[h] = v;
  }
  let parsed: unknown = text;
  if (headers['content-type'] === 'application/json') parsed = JSON.parse(text);
  return {
    request: body === undefined ? { method, path } : { method, path, body },
    response: { status: res.status, headers, body: parsed },
  };
}

/** Replaces random session ids and machine-specific values so the transcript is stable. */
function normalize(exchanges: Exchange[]): Exchange[] {
  let text = JSON.stringify(exchanges);
  const ids = [...new Set(text.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [])].filter(
    (id) => !id.startsWith('6a0e0bf1'),
  );
  ids.forEach((id, i) => {
    text = text.replaceAll(id, `<session-${i + 1}>`);
  });
  text = text.replace(/"arch":"[^"]+"/g, '"arch":"<arch>"').replace(/"os":"[^"]+"/g, '"os":"<os>"');
  return JSON.parse(text) as Exchange[];
}

describe('FakeConsul HTTP API (golden transcript)', () => {
  it('answers with the shapes, status codes and headers Consul documents', async () => {
    const x: Exchange[] = [];
    const push = async (method: string, path: string, body?: string) => {
      const e = await send(method, path, body);
      x.push(e);
      return e.response.body;
    };
    await push('GET', '/v1/status/leader');
    await push('GET', '/v1/status/peers');
    await push('GET', '/v1/agent/members');
    await push('GET', '/v1/agent/self');
    await push('PUT', '/v1/kv/web/config', 'hello');
    const [entry] = (await push('GET', '/v1/kv/web/config')) as Array<{ ModifyIndex: number }>;
    await push('GET', '/v1/kv/web/config?raw');
    await push('GET', '/v1/kv/missing');
    await push('PUT', '/v1/kv/web/config?cas=1', 'stale');
    await push('PUT', `/v1/kv/web/config?cas=${entry?.ModifyIndex}`, 'fresh');
    await push('PUT', '/v1/kv/web/empty', '');
    await push('GET', '/v1/kv/web?recurse');
    await push('GET', '/v1/kv/?keys&separator=/');
    const s1 = ((await push('PUT', '/v1/session/create', '{"Name":"lock","TTL":"15s","LockDelay":"1s"}')) as { ID: string }).ID;
    const s2 = ((await push('PUT', '/v1/session/create', '{}')) as { ID: string }).ID;
    await push('PUT', `/v1/kv/lock?acquire=${s1}`, 'node1');
    await push('PUT', `/v1/kv/lock?acquire=${s2}`, 'node2');
    await push('GET', '/v1/kv/lock');
    await push('PUT', `/v1/kv/lock?release=${s1}`, 'node1');
    await push('GET', `/v1/session/info/${s1}`);
    await push('PUT', `/v1/session/destroy/${s1}`);
    await push('PUT', `/v1/session/destroy/${s2}`);
    await push('GET', `/v1/session/info/${s1}`);
    await push('PUT', '/v1/kv/a?cas=1&acquire=x', 'v');
    await push('PUT', '/v1/kv/a?acquire=00000000-0000-0000-0000-00000000dead', 'v');
    await push('PUT', '/v1/session/create', '{"TTL":"5s"}');
    await push('PUT', '/v1/agent/service/register', '{"Name":"web","Port":80,"Tags":["v1"]}');
    await push('GET', '/v1/agent/services');
    await push('GET', '/v1/catalog/services');
    await push('GET', '/v1/catalog/service/web');
    await push('GET', '/v1/catalog/nodes');
    await push('GET', '/v1/health/node/node1');
    await push('DELETE', '/v1/kv/web?recurse');
    await push('GET', '/v1/kv/web?recurse');
    await push('GET', '/v1/kv/x?index=abc');
    await push('GET', '/v1/kv/x?index=1&wait=zz');
    await push('GET', '/v1/kv/');
    await push('GET', '/v1/nope');
    const transcript = normalize(x);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, `${JSON.stringify(transcript, null, 2)}\n`);
    expect(transcript).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));
  });
});

describe('FakeConsul semantics', () => {
  it('X-Consul-Index is never 0 and a read of a missing key carries the KV table index', async () => {
    const e = await send('GET', '/v1/kv/nothing');
    expect(e.response.status).toBe(404);
    expect(Number(e.response.headers['x-consul-index'])).toBeGreaterThanOrEqual(1);
  });

  it('blocking queries wait for a change and honour wait=', async () => {
    await send('PUT', '/v1/kv/k', '1');
    const first = await send('GET', '/v1/kv/k');
    const index = first.response.headers['x-consul-index'];
    let started = Date.now();
    const timedOut = await send('GET', `/v1/kv/k?index=${index}&wait=150ms`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect(timedOut.response.headers['x-consul-index']).toBe(index);
    started = Date.now();
    setTimeout(() => void send('PUT', '/v1/kv/k', '2'), 100);
    const changed = await send('GET', `/v1/kv/k?index=${index}&wait=10s`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(Number(changed.response.headers['x-consul-index'])).toBeGreaterThan(Number(index));
    expect((changed.response.body as Array<{ Value: string }>)[0]?.Value).toBe(Buffer.from('2').toString('base64'));
  });

  it('a held lock survives release by another session and passes on after destroy with lock-delay', async () => {
    const s1 = ((await send('PUT', '/v1/session/create', '{"LockDelay":"200ms"}')).response.body as { ID: string }).ID;
    const s2 = ((await send('PUT', '/v1/session/create', '{}')).response.body as { ID: string }).ID;
    expect((await send('PUT', `/v1/kv/l?acquire=${s1}`, '')).response.body).toBe(true);
    expect((await send('PUT', `/v1/kv/l?release=${s2}`, '')).response.body).toBe(false);
    await send('PUT', `/v1/session/destroy/${s1}`);
    expect((await send('PUT', `/v1/kv/l?acquire=${s2}`, '')).response.body).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
    expect((await send('PUT', `/v1/kv/l?acquire=${s2}`, '')).response.body).toBe(true);
  });

  it('sessions with Behavior delete remove their keys when invalidated', async () => {
    const s = ((await send('PUT', '/v1/session/create', '{"Behavior":"delete","LockDelay":"0s"}')).response.body as { ID: string }).ID;
    await send('PUT', `/v1/kv/eph?acquire=${s}`, 'x');
    await send('PUT', `/v1/session/destroy/${s}`);
    expect((await send('GET', '/v1/kv/eph')).response.status).toBe(404);
  });

  it('without a leader, state endpoints answer 500 "No cluster leader" and status/leader answers ""', async () => {
    fake.state.leader = undefined;
    expect((await send('GET', '/v1/status/leader')).response.body).toBe('');
    const e = await send('GET', '/v1/kv/x');
    expect(e.response).toEqual({ status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'No cluster leader' });
  });

  it('the consul npm client works against it unmodified (watch uses X-Consul-Index)', async () => {
    const consul = new Consul({ host: '127.0.0.1', port: Number(new URL(base).port) });
    await consul.kv.set('w', 'a');
    const watch = consul.watch({ method: consul.kv.get, options: { key: 'w' } as never });
    const values: string[] = [];
    await new Promise<void>((resolve, reject) => {
      watch.on('change', (data: { Value: string } | undefined) => {
        if (data) values.push(data.Value);
        if (values.length === 1) void consul.kv.set('w', 'b');
        if (values.length === 2) resolve();
      });
      watch.on('error', reject);
    });
    watch.end();
    consul.destroy();
    expect(values).toEqual(['a', 'b']);
  });

  it('parses Go durations', () => {
    expect(parseGoDuration('15s')).toBe(15_000);
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('250ms')).toBe(250);
    expect(parseGoDuration(2_000_000_000)).toBe(2000);
    expect(parseGoDuration('abc')).toBeUndefined();
  });
});
