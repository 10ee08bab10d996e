import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner, type SpawnedProcess } from '@cluster-lab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulClient } from '../api/consul-client.js';
import { bundleFakeConsul, randomLoopback } from '../test-support/bundle-fake-consul.js';

const runner = new ExecaRunner();
let bin: string;
let dir: string;
const procs: SpawnedProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fake-consul-cli-'));
  bin = await bundleFakeConsul(dir);
});
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function agent(name: string, cfg: Record<string, unknown>): Promise<{ proc: SpawnedProcess; log: string }> {
  const file = join(dir, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({ node_name: name, data_dir: join(dir, name), retry_interval: '200ms', performance: { raft_multiplier: 1 }, ...cfg }),
  );
  const log = join(dir, `${name}.log`);
  const proc = await runner.spawn(bin, ['agent', `-config-file=${file}`], { detached: true, logFile: log });
  procs.push(proc);
  return { proc, log };
}

async function until<T>(fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('fake consul executable (TEST DOUBLE)', () => {
  it('announces itself as a test double in version and agent output', async () => {
    const { stdout } = await runner.run(bin, ['version']);
    expect(stdout).toMatch(/^Consul v1\.20\.0-fake\n/);
    expect(stdout).toContain('TEST DOUBLE');
    expect(stdout).toContain('NOT HashiCorp Consul');
  });

  it('forms a cluster: bootstrap server + a client joining via retry_join, members, join, KV through the client, leave on SIGTERM', async () => {
    const [a, b] = [randomLoopback(), randomLoopback()];
    // The client starts first: it must keep retrying until the server is up (boot order does not matter).
    const client = await agent('c1', {
      datacenter: 'lab',
      server: false,
      bind_addr: b,
      advertise_addr: b,
      client_addr: `127.0.0.1 ${b}`,
      retry_join: [a],
      ports: { http: 18500 },
    });
    await new Promise((r) => setTimeout(r, 300));
    const server = await agent('s1', {
      datacenter: 'lab',
      server: true,
      bootstrap_expect: 1,
      bind_addr: a,
      advertise_addr: a,
      client_addr: a,
      ports: { http: 18500 },
    });
    const viaClient = new ConsulClient({ address: `${b}:18500` });
    expect(await viaClient.waitForLeader({ timeoutMs: 5000 })).toBe(`${a}:8300`);
    const members = await until(async () => {
      const m = await viaClient.members();
      return m.length === 2 ? m : undefined;
    });
    expect(members.map((m) => [m.name, m.address, m.role, m.status]).sort()).toEqual([
      ['c1', b, 'client', 'alive'],
      ['s1', a, 'server', 'alive'],
    ]);
    await viaClient.kv.put('k', 'from-client');
    const viaServer = new ConsulClient({ address: `${a}:18500` });
    expect((await viaServer.kv.get('k'))?.value).toBe('from-client');

    const { stdout } = await runner.run(bin, ['members', `-http-addr=${a}:18500`]);
    expect(stdout.split('\n')[0]).toMatch(/^Node\s+Address\s+Status\s+Type\s+Build\s+Protocol\s+DC/);
    expect(stdout).toMatch(new RegExp(`c1\\s+${b.replaceAll('.', '\\.')}:8301\\s+alive\\s+client`));
    const kv = await runner.run(bin, ['kv', 'get', `-http-addr=${b}:18500`, 'k']);
    expect(kv.stdout).toBe('from-client\n');

    client.proc.kill('SIGTERM');
    expect(await client.proc.exited).toEqual({ exitCode: 0, signal: null });
    expect(await readFile(client.log, 'utf8')).toContain('Graceful leave complete');
    const left = await until(async () => (await viaServer.members()).find((m) => m.name === 'c1' && m.status === 'left'));
    expect(left.status).toBe('left');
    expect((await readFile(join(dir, 'c1', 'node-id'), 'utf8')).length).toBe(36);

    server.proc.kill('SIGTERM');
    expect((await server.proc.exited).exitCode).toBe(0);
    viaClient.close();
    viaServer.close();
  });

  it('bootstrap_expect 2 elects no leader until the second server joins', async () => {
    const [a, b] = [randomLoopback(), randomLoopback()];
    const s1 = await agent('e1', { server: true, bootstrap_expect: 2, bind_addr: a, client_addr: a });
    const c = new ConsulClient({ address: `${a}:8500`, timeoutMs: 1000 });
    await until(async () => (await c.members()).length === 1);
    await expect(c.waitForLeader({ timeoutMs: 500 })).rejects.toMatchObject({ code: 'CONSUL_NO_LEADER' });
    const s2 = await agent('e2', { server: true, bind_addr: b, client_addr: b, retry_join: [a] });
    expect(await c.waitForLeader({ timeoutMs: 5000 })).toBe(`${a}:8300`);
    expect((await c.members()).map((m) => m.role)).toEqual(['server', 'server']);
    s1.proc.kill('SIGTERM');
    s2.proc.kill('SIGTERM');
    await Promise.all([s1.proc.exited, s2.proc.exited]);
    c.close();
  });

  it('refuses to join with a different gossip key, and `consul join` reports it', async () => {
    const [a, b] = [randomLoopback(), randomLoopback()];
    const s = await agent('k1', {
      server: true,
      bootstrap_expect: 1,
      bind_addr: a,
      client_addr: a,
      encrypt: 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=',
    });
    const c = await agent('k2', { server: false, bind_addr: b, client_addr: b, encrypt: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=' });
    const client = new ConsulClient({ address: `${b}:8500` });
    await until(async () => (await client.members()).length === 1);
    const join = await runner.run(bin, ['join', `-http-addr=${b}:8500`, a], { reject: false });
    expect(join.exitCode).toBe(1);
    expect(join.stderr).toContain('encryption key mismatch');
    s.proc.kill('SIGTERM');
    c.proc.kill('SIGTERM');
    await Promise.all([s.proc.exited, c.proc.exited]);
    client.close();
  });

  it('fails loudly when it cannot bind the configured address or has no data_dir', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ data_dir: join(dir, 'bad'), bind_addr: '192.0.2.77', client_addr: '127.0.0.1' }));
    const r = await runner.run(bin, ['agent', `-config-file=${file}`], { reject: false, timeoutMs: 5000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/==> Error starting agent: listen EADDRNOTAVAIL.*192\.0\.2\.77:8301/);
    await writeFile(file, JSON.stringify({}));
    const r2 = await runner.run(bin, ['agent', `-config-file=${file}`], { reject: false, timeoutMs: 5000 });
    expect(r2.stderr).toContain('==> data_dir cannot be empty');
  });
});
