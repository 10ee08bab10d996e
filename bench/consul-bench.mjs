#!/usr/bin/env node
// Benchmark of @cluster-lab/consul with the fake `consul` executable (TEST DOUBLE — real Consul's
// Raft/gossip timings differ; this measures our own pipeline: config render, detached start,
// readiness, retry_join, leader wait, and the ClusterStore round trips).
//
//   formation  N agents (1 leader + N-1 followers, all started at the same moment, followers
//              racing the leader) on distinct loopback addresses; time until every start()
//              resolved with a leader, and until the leader sees N alive members.
//   store      ConsulStore latency against one agent: put, get, cas, waitFor wake-up, lock handover.
//
// Usage: node bench/consul-bench.mjs [N ...]   (default 3 5 10). Needs `npm run build -w packages/core -w packages/consul`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const imports = await Promise.all([
  import('@cluster-lab/core'),
  import('@cluster-lab/consul'),
  import('@cluster-lab/consul/testing'),
]).catch((error) => {
  console.error(`cannot load the built packages (${error.message}); run: npm run build -w packages/core -w packages/consul`);
  process.exit(2);
});
const [{ ExecaRunner, parseConfig }, { BinaryRuntime, ConsulClient, ConsulStore, consulAgent }, { assertFakeConsulBuilt, FakeConsul }] =
  imports;

const bin = assertFakeConsulBuilt();
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const runner = new ExecaRunner();
const net = 50 + Math.floor(Math.random() * 150);
const addr = (i) => `127.${net}.${Math.floor(i / 200)}.${10 + (i % 200)}`;
const port = 21_000 + Math.floor(Math.random() * 10_000);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function formation(n) {
  const root = await mkdtemp(join(tmpdir(), 'consul-bench-'));
  const leader = addr(0);
  const agents = Array.from({ length: n }, (_, i) => {
    const stateDir = join(root, `n${i}`);
    const config = parseConfig({
      subnet: '127.0.0.0/8',
      leaderAddress: leader,
      stateDir,
      dhcp: { enabled: false, rangeStart: '127.0.0.100', rangeEnd: '127.0.0.200' },
      consul: { runtime: 'binary', binary: bin, httpPort: port + i },
    });
    const runtime = new BinaryRuntime({ runner, binary: bin, runDir: join(stateDir, 'consul') });
    return consulAgent({
      config,
      runtime,
      clientAddress: `${addr(i)}:${port + i}`,
      facts: {
        role: i === 0 ? 'leader' : 'follower',
        server: i === 0,
        clusterAddress: addr(i),
        leaderAddress: leader,
        nodeName: `n${i}`,
        nodeId: crypto.randomUUID(),
        dataDir: join(stateDir, 'consul', 'data'),
      },
    });
  });
  const t0 = performance.now();
  const results = await Promise.allSettled(agents.map((a) => a.start()));
  const started = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => s.stop()));
    throw failed.reason;
  }
  const tStarted = performance.now() - t0;
  const client = new ConsulClient({ address: `${leader}:${port}` });
  for (;;) {
    const members = await client.members();
    if (members.filter((m) => m.status === 'alive').length === n) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const tMembers = performance.now() - t0;
  const t1 = performance.now();
  await Promise.all(started.map((s) => s.stop()));
  const tStop = performance.now() - t1;
  client.close();
  await rm(root, { recursive: true, force: true });
  return { tStarted, tMembers, tStop };
}

async function store() {
  const fake = new FakeConsul({ nodeName: 'bench' });
  const { port: p } = await fake.listen();
  const client = new ConsulClient({ address: `127.0.0.1:${p}` });
  const s = new ConsulStore(client);
  const time = async (k, fn) => {
    const xs = [];
    for (let i = 0; i < k; i++) {
      const t = performance.now();
      await fn(i);
      xs.push(performance.now() - t);
    }
    return median(xs);
  };
  const put = await time(200, (i) => s.put(`k${i % 10}`, 'v'));
  const get = await time(200, (i) => s.get(`k${i % 10}`));
  const cas = await time(200, async (i) => {
    const v = await s.get(`k${i % 10}`);
    await s.cas(`k${i % 10}`, 'w', v.index);
  });
  const wake = await time(20, async (i) => {
    const w = s.waitFor(`wait${i}`, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 20));
    const t = performance.now();
    await s.put(`wait${i}`, 'x');
    await w;
    return performance.now() - t;
  });
  const handover = await time(20, async () => {
    const a = await s.lock('l', { timeoutMs: 5000 });
    const b = s.lock('l', { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 20));
    await a.release();
    await (await b).release();
  });
  client.close();
  await fake.close();
  return { put, get, cas, wake: wake - 20, handover: handover - 20 };
}

for (const n of sizes.length ? sizes : [3, 5, 10]) {
  const r = await formation(n);
  console.log(
    `formation N=${n}: all start() resolved with a leader in ${r.tStarted.toFixed(0)} ms, ${n} members alive after ${r.tMembers.toFixed(0)} ms, stop (graceful leave) ${r.tStop.toFixed(0)} ms`,
  );
  console.log(`BENCH consul formation N=${n} (fake consul, all at once) | ${r.tMembers.toFixed(0)} | ms | flat in N`);
}
const st = await store();
console.log(
  `store (median of 200): put ${st.put.toFixed(2)} ms, get ${st.get.toFixed(2)} ms, get+cas ${st.cas.toFixed(2)} ms; waitFor wake-up ${Math.max(0, st.wake).toFixed(1)} ms; lock handover ${Math.max(0, st.handover).toFixed(1)} ms`,
);
console.log(`BENCH consul store put (FakeConsul) | ${st.put.toFixed(2)} | ms | -`);
console.log(`BENCH consul store waitFor wake-up (blocking query) | ${Math.max(0, st.wake).toFixed(1)} | ms | < 50`);
