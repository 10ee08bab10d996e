#!/usr/bin/env node
// Benchmark of @cluster-lab/swarm on a namespace lab with one real dockerd per node (root).
//
// For each N (default 3 and 5; override: `node bench/swarm-bench.mjs 3 5 7`), on the same lab:
//   cluster-lab  initManager on node1 while every follower's join() starts at the same moment
//                (followers block on the store until the leader publishes tokens; manager slots
//                are serialised by the store lock); the leader's reconciler labels followers.
//                Measured: init → every node Ready in `docker node ls` (status()), plus the
//                time until every join() returned (includes labels applied).
//   docker CLI   plain `docker swarm init` + `docker swarm join-token` + `docker swarm join` on
//                the followers in parallel (the first two with the manager token, as many as
//                cluster-lab makes), through each node's runner; measured the same way.
//   stop         cluster-lab's leave() on followers in parallel, then the leader; next to plain
//                `docker swarm leave --force` on followers in parallel, then the leader.
// Each scenario runs ROUNDS times (env SWARM_BENCH_ROUNDS, default 3); medians are printed.
// The store is the in-memory ClusterStore (Consul KV in production adds its round trips).
//
// Needs the built packages: `npm run build -w packages/core -w packages/lab -w packages/swarm`.
const imports = await Promise.all([import('@cluster-lab/core'), import('@cluster-lab/lab'), import('@cluster-lab/swarm')]).catch(
  (error) => {
    console.error(
      `cannot load the built packages (${error.message}); run: npm run build -w packages/core -w packages/lab -w packages/swarm`,
    );
    process.exit(2);
  },
);
const [{ InMemoryClusterStore }, { createLab }, { initManager, join, leave, startReconciler, status }] = imports;

if (process.getuid?.() !== 0) {
  console.error('swarm-bench needs root (network namespaces, dockerd)');
  process.exit(2);
}

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => Number.isInteger(n) && n >= 1);
const ROUNDS = Number(process.env.SWARM_BENCH_ROUNDS ?? 3);
const READY_POLL_MS = 25;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const now = () => performance.now();
const cli = (node, args) => node.exec('docker', ['-H', `unix://${node.dockerSocket}`, ...args], { timeoutMs: 60_000 });

async function waitAllReady(leader, n) {
  for (;;) {
    const s = await status({ docker: leader.docker() });
    if (s.nodes?.length === n && s.nodes.every((x) => x.state === 'ready')) return;
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
}

async function clusterLabRound(lab) {
  const [leader, ...followers] = lab.nodes;
  const store = new InMemoryClusterStore();
  const t0 = now();
  const joins = followers.map((f) => join({ docker: f.docker(), store, advertiseAddr: f.lanAddress }).then(() => now() - t0));
  // Awaited below; until then a failure must not become an unhandled rejection (which would
  // kill the process before `lab.destroy()` runs).
  for (const j of joins) j.catch(() => {});
  const init = await initManager({ docker: leader.docker(), store, advertiseAddr: leader.lanAddress });
  const reconciler = startReconciler({ docker: leader.docker(), store });
  await waitAllReady(leader, lab.nodes.length);
  const ready = now() - t0;
  const joined = Math.max(0, ...(await Promise.all(joins)));
  await reconciler.stop();
  const s0 = now();
  await Promise.all(followers.map((f) => leave({ docker: f.docker(), store })));
  await leave({ docker: leader.docker(), store, waitForOthersMs: 30_000 });
  return { init: init.durationMs, ready, joined, stop: now() - s0 };
}

async function dockerCliRound(lab, managers) {
  const [leader, ...followers] = lab.nodes;
  const t0 = now();
  const ip = leader.lanAddress;
  await cli(leader, ['swarm', 'init', '--advertise-addr', ip, '--listen-addr', `${ip}:2377`, '--data-path-addr', ip]);
  const [worker, manager] = await Promise.all(
    ['worker', 'manager'].map(async (role) => (await cli(leader, ['swarm', 'join-token', '-q', role])).stdout.trim()),
  );
  await Promise.all(
    followers.map((f, i) =>
      cli(f, [
        'swarm',
        'join',
        '--token',
        i < managers - 1 ? manager : worker,
        '--advertise-addr',
        f.lanAddress,
        '--listen-addr',
        `${f.lanAddress}:2377`,
        `${ip}:2377`,
      ]),
    ),
  );
  await waitAllReady(leader, lab.nodes.length);
  const ready = now() - t0;
  const s0 = now();
  await Promise.all(followers.map((f) => cli(f, ['swarm', 'leave', '--force'])));
  await cli(leader, ['swarm', 'leave', '--force']);
  return { ready, stop: now() - s0 };
}

const rows = [];
for (const n of sizes.length ? sizes : [3, 5]) {
  const labStart = now();
  const lab = await createLab({ name: 'swbench', nodes: n, docker: true, lan: true });
  const labMs = now() - labStart;
  try {
    const ours = [];
    const plain = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order so neither side always runs on a warmer daemon.
      if (r % 2 === 0) {
        ours.push(await clusterLabRound(lab));
        plain.push(await dockerCliRound(lab, Math.min(3, n % 2 ? n : n - 1)));
      } else {
        plain.push(await dockerCliRound(lab, Math.min(3, n % 2 ? n : n - 1)));
        ours.push(await clusterLabRound(lab));
      }
    }
    rows.push({
      nodes: n,
      'cluster-lab init→all Ready (ms)': Math.round(median(ours.map((o) => o.ready))),
      'cluster-lab all join() returned (ms)': Math.round(median(ours.map((o) => o.joined))),
      'leader initManager (ms)': Math.round(median(ours.map((o) => o.init))),
      'docker CLI init+join→all Ready (ms)': Math.round(median(plain.map((o) => o.ready))),
      'cluster-lab stop (ms)': Math.round(median(ours.map((o) => o.stop))),
      'docker CLI leave --force (ms)': Math.round(median(plain.map((o) => o.stop))),
      'lab with N dockerd (ms)': Math.round(labMs),
    });
  } finally {
    await lab.destroy();
  }
}
console.log(`swarm formation, median of ${ROUNDS} rounds (in-memory ClusterStore)`);
console.table(rows);
for (const row of rows) {
  console.log(
    `BENCH swarm ${row.nodes} nodes: init → all Ready (cluster-lab swarm package) | ${row['cluster-lab init→all Ready (ms)']} | ms | -`,
  );
  console.log(
    `BENCH swarm ${row.nodes} nodes: plain docker swarm init + join → all Ready | ${row['docker CLI init+join→all Ready (ms)']} | ms | -`,
  );
}
