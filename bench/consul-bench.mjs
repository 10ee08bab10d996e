#!/usr/bin/env node
// Benchmark of REAL Consul 1.8.7 (the `consul` that scripts/get-consul.sh installs, found by
// findConsulBinary) on a virtual lab (@cluster-lab/lab: one network namespace per node, eth0 on
// one switch), started the way the product starts it: consulAgent + BinaryRuntime, config
// rendered from a new cluster secret (deriveClusterKeys(generateSecret())): gossip encryption,
// ACLs with default deny, the derived management token, each node's own agent token. Node 1
// bootstraps (role leader), nodes 2–3 are servers, the rest client agents (consul.servers: 3).
//
//   bootstrap  a first server alone: begin() → Raft leader (and → ready(): ACLs up, agent token made).
//   formation  N agents begin() at the same moment; time until every agent sees N alive
//              members and knows a Raft leader (median of --runs runs per N).
//   store      on a formed 5-agent cluster, with the product's ConsulStore: put via the Raft
//              leader's agent and via a client agent, and the wake-up of a waitFor (blocking
//              query) on a client agent when another node puts the key.
//   leave      a non-leader server stops gracefully (SIGTERM): as `cluster-lab stop` does it (leave
//              check, then a second SIGTERM) and plain SIGTERM (Consul's own full shutdown).
//
// All agents share this machine's CPUs (a real cluster has one machine per node). This process
// sits outside the nodes: it reaches each agent's HTTP API (127.0.0.1:8500 inside the node)
// through a loopback port forward (a relay in the node, on a Unix socket), which the store figures
// include; nothing is sent anywhere but loopback and the lab's own namespaces. Everything is
// removed at the end, also on failure or Ctrl-C (the lab's destroy ends every process in it).
//
// Needs root, the real consul (sudo bash scripts/setup.sh) and a build (npm run build).
// Usage: node bench/consul-bench.mjs [--runs 3] [N ...]   (default N: 3 5 10)
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const imports = await Promise.all([import('@cluster-lab/core'), import('@cluster-lab/consul'), import('@cluster-lab/lab')]).catch(
  (error) => {
    console.error(`consul-bench: cannot load the built packages (${error.message}); run: npm run build`);
    process.exit(2);
  },
);
const [
  { deriveClusterKeys, generateSecret, parseConfig },
  {
    BinaryRuntime,
    ConsulClient,
    CONSUL_SERVER_PORT,
    consulAgent,
    consulLeaveDone,
    findConsulBinary,
    formatConsulVersion,
    nodeIdFromMachineId,
    stopConsulAgent,
  },
  { createLab },
] = imports;

const { values, positionals } = parseArgs({ options: { runs: { type: 'string', default: '3' } }, allowPositionals: true });
const RUNS = Number(values.runs);
const SIZES = positionals.length ? positionals.map(Number) : [3, 5, 10];
if (process.getuid?.() !== 0) {
  console.error('consul-bench: needs root (network namespaces)');
  process.exit(2);
}
const bin = await findConsulBinary();
if (!bin) {
  console.error('consul-bench: no real `consul` executable; run `sudo bash scripts/setup.sh` (scripts/get-consul.sh)');
  process.exit(2);
}

/** The product's default: three Consul servers, every further node a client agent. */
const SERVERS = 3;
const LEADER = '192.168.200.1';
const addressOf = (i) => (i === 0 ? LEADER : `192.168.200.${100 + i}`);
const HTTP_PORT = parseConfig({}).consul.httpPort;
/** How often we ask each agent whether it sees the cluster formed. */
const POLL_MS = 50;
const TIMEOUT_MS = 60_000;
const STORE_SAMPLES = 200;
const WAKE_SAMPLES = 20;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${Math.round(x)} ms`;
const runsLabel = RUNS === 1 ? '1 run' : `median of ${RUNS}`;

let lab;
let forwards = [];
// Ctrl-C or a kill: the lab's destroy ends the agents and relays in its namespaces and removes its dirs.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`consul-bench: ${signal}, removing the lab`);
    Promise.resolve(lab?.destroy()).finally(() => process.exit(130));
  });
}

async function until(what, check, { timeoutMs = TIMEOUT_MS, pollMs = POLL_MS, signal } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new Error(`${what}: gave up (another part failed)`);
    if (await check().catch(() => false)) return;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(pollMs);
  }
}

// --- Reaching an agent inside a node: 127.0.0.1:<port> here → Unix socket → 127.0.0.1:<port> in the node.
// The integration tests' forwardNodePort (packages/consul/src/test-support/real-consul.ts), which
// the built package does not ship.
const RELAY = `
const net = require('node:net');
const [sock, port] = process.argv.slice(1);
require('node:fs').rmSync(sock, { force: true });
net.createServer((c) => {
  const up = net.connect(Number(port), '127.0.0.1');
  c.pipe(up).pipe(c);
  up.on('error', () => c.destroy());
  c.on('error', () => up.destroy());
}).listen(sock, () => console.log('ready'));
`;

/** Pipes each connection accepted by a server to a new connection that `connectUp` opens. */
const relayTo = (connectUp) => (c) => {
  const up = connectUp();
  c.pipe(up).pipe(c);
  up.on('error', () => c.destroy());
  c.on('error', () => up.destroy());
};

const canConnect = (path) =>
  new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });

/** A loopback address here that reaches `127.0.0.1:<port>` inside a lab node. */
async function forwardNodePort(node, port) {
  const sock = join(node.dir, `forward-${port}.sock`);
  const relay = await node.spawn(process.execPath, ['-e', RELAY, sock, String(port)], {
    detached: true,
    logFile: join(node.dir, `forward-${port}.log`),
  });
  await until(`port relay in ${node.name}`, () => canConnect(sock), { timeoutMs: 10_000, pollMs: 25 });
  const server = createServer(relayTo(() => createConnection(sock)));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${server.address().port}`,
    close() {
      server.close();
      relay.kill('SIGKILL');
    },
  };
}

// --- One node's Consul agent, set up as the product sets it up.
function prepareAgent(i, keys) {
  const node = lab.nodes[i];
  const config = parseConfig({ stateDir: join(lab.stateDir, node.name, 'cluster-lab'), consul: { binary: bin, servers: SERVERS } });
  const runtime = new BinaryRuntime({ runner: node.runner, binary: bin, runDir: join(config.stateDir, 'consul') });
  const server = i < SERVERS;
  const role = consulAgent({
    config,
    keys,
    runtime,
    clientAddress: forwards[i].address,
    facts: {
      role: i === 0 ? 'leader' : 'follower',
      server,
      clusterAddress: addressOf(i),
      leaderAddress: LEADER,
      nodeName: node.hostname,
      nodeId: nodeIdFromMachineId(`${'0'.repeat(30)}${String(i + 1).padStart(2, '0')}`),
      dataDir: join(config.stateDir, 'consul', 'data'),
    },
  });
  const agent = {
    name: node.hostname,
    address: addressOf(i),
    server,
    runtime,
    /** The bench's own client (management token), for watching the agent. */
    client: new ConsulClient({ address: forwards[i].address, token: keys.managementToken, timeoutMs: 2000 }),
    /** From role.begin(): the agent's process is started. */
    begun: undefined,
    /** From begun.ready(): running, a leader known, its agent token made; `store` is the product's ConsulStore. */
    started: undefined,
    async begin() {
      agent.begun = await role.begin();
    },
    /** Ends the agent without a leave (SIGINT, as when the whole cluster stops) and removes its config and data. */
    async remove() {
      agent.client.close();
      if (!agent.begun) return;
      agent.begun.client.close();
      await stopConsulAgent(runtime, agent.begun.changes, { leave: 'none' });
    },
  };
  return agent;
}

async function printLogs(agents) {
  for (const a of agents) {
    const log = await a.runtime.logs(15).catch((e) => `(no log: ${e.message})`);
    console.error(`--- ${a.name} (${a.server ? 'server' : 'client'}) consul log, last lines:\n${log}`);
  }
}

/** The first server alone, from begin() until a Raft leader, then until ready(). */
async function bootstrapOnce() {
  const agent = prepareAgent(0, deriveClusterKeys(generateSecret()));
  const t0 = performance.now();
  const since = () => performance.now() - t0;
  try {
    await agent.begin();
    const begun = since();
    await agent.begun.running();
    const running = since();
    await until('a Raft leader', async () => (await agent.client.leader()) !== undefined, { pollMs: 10 });
    const leader = since();
    agent.started = await agent.begun.ready();
    return { begun, running, leader, ready: since() };
  } catch (error) {
    await printLogs([agent]);
    throw error;
  } finally {
    await agent.remove();
  }
}

/**
 * Starts Consul on nodes 1..n at the same moment (new cluster secret) and resolves once every
 * agent sees n alive members and knows a Raft leader. The caller removes the cluster
 * (`remove()`); on failure it is removed here.
 */
async function formCluster(n) {
  const keys = deriveClusterKeys(generateSecret());
  const agents = Array.from({ length: n }, (_, i) => prepareAgent(i, keys));
  const cluster = { n, keys, agents, remove: () => Promise.all(agents.map((a) => a.remove())) };
  const giveUp = new AbortController();
  const watch = (promise) =>
    promise.catch((error) => {
      giveUp.abort();
      throw error;
    });
  const sees = async (a) =>
    (await a.client.members()).filter((m) => m.status === 'alive').length === n && (await a.client.leader()) !== undefined;
  const t0 = performance.now();
  const since = () => performance.now() - t0;
  try {
    const begins = await Promise.allSettled(agents.map((a) => a.begin()));
    for (const r of begins) if (r.status === 'rejected') throw r.reason;
    const begun = since();
    const [starts, formed] = await Promise.all([
      Promise.all(
        agents.map((a) =>
          watch(
            (async () => {
              await a.begun.running();
              const running = since();
              a.started = await a.begun.ready();
              return { running, ready: since() };
            })(),
          ),
        ),
      ),
      Promise.all(
        agents.map((a) =>
          watch(until(`${a.name} sees ${n} alive members and a leader`, () => sees(a), { signal: giveUp.signal }).then(since)),
        ),
      ),
    ]);
    cluster.times = {
      begun,
      running: Math.max(...starts.map((s) => s.running)),
      ready: Math.max(...starts.map((s) => s.ready)),
      formed: Math.max(...formed),
      last: agents[formed.indexOf(Math.max(...formed))],
    };
    return cluster;
  } catch (error) {
    giveUp.abort();
    await printLogs(agents);
    await cluster.remove();
    throw error;
  }
}

/** Median latency of `count` sequential calls of `fn(i)`. */
async function sample(count, fn) {
  const xs = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await fn(i);
    xs.push(performance.now() - t);
  }
  return median(xs);
}

/** The agent that is the Raft leader (by its server address, `ip:8300`). */
async function raftLeader(cluster) {
  const leader = await cluster.agents[0].client.leader();
  const agent = cluster.agents.find((a) => `${a.address}:${CONSUL_SERVER_PORT}` === leader);
  if (!agent) throw new Error(`no agent of the bench is the Raft leader ${leader}`);
  return agent;
}

async function storeLatency(cluster) {
  const leader = await raftLeader(cluster);
  const client = cluster.agents.find((a) => !a.server);
  const writer = cluster.agents.find((a) => a.server && a !== leader);
  const floor = await sample(STORE_SAMPLES, () => leader.client.leader());
  const put = await sample(STORE_SAMPLES, (i) => leader.started.store.put(`bench/k${i % 10}`, 'v'));
  const get = await sample(STORE_SAMPLES, (i) => leader.started.store.get(`bench/k${i % 10}`));
  const putViaClient = await sample(STORE_SAMPLES, (i) => client.started.store.put(`bench/c${i % 10}`, 'v'));
  // A follower waits for a key another node writes (e.g. the Swarm token the leader stores).
  const acks = [];
  const wakes = [];
  for (let i = 0; i < WAKE_SAMPLES; i++) {
    const waiting = client.started.store.waitFor(`bench/wait${i}`, { timeoutMs: 10_000 });
    await sleep(100); // its blocking query is outstanding by now
    const t = performance.now();
    await writer.started.store.put(`bench/wait${i}`, 'x');
    acks.push(performance.now() - t);
    if ((await waiting)?.value !== 'x') throw new Error(`waitFor bench/wait${i} did not see the put`);
    wakes.push(performance.now() - t);
  }
  return { leader, client, writer, floor, put, get, putViaClient, ack: median(acks), wake: median(wakes) };
}

/**
 * A non-leader server stops gracefully. `shortcut`: as `cluster-lab stop` on that node (the leave
 * check asks the agent and the Raft leader, then a second SIGTERM ends Consul's fixed waits);
 * otherwise plain SIGTERM and Consul's own full shutdown. Also times when the Raft leader sees it
 * `left` in the gossip pool, and when it is out of the leader's Raft peer set.
 */
async function serverLeave(cluster, shortcut) {
  const leader = await raftLeader(cluster);
  const leaving = cluster.agents.find((a) => a.server && a !== leader);
  const self = new ConsulClient({ address: leaving.client.address, token: cluster.keys.managementToken, timeoutMs: 1000 });
  // The leave check asks another server for the Raft peers: through that node's forward, never its cluster address.
  const peersOf = (host) => {
    const agent = cluster.agents.find((a) => a.address === host);
    if (!agent) throw new Error(`${host} is no agent of the bench`);
    return agent.client.peers();
  };
  const left = () => consulLeaveDone(self, { nodeName: leaving.name, server: true }, { peersOf });
  const seen = async () => (await leader.client.members()).find((m) => m.name === leaving.name)?.status === 'left';
  const removed = async () => !(await leader.client.peers()).includes(`${leaving.address}:${CONSUL_SERVER_PORT}`);
  const t0 = performance.now();
  const since = () => performance.now() - t0;
  let leftCheck; // when the leave check first said done (`shortcut` only)
  const check = async () => {
    const done = await left();
    if (done) leftCheck ??= since();
    return done;
  };
  try {
    const [gone, seenLeft, outOfPeers] = await Promise.all([
      leaving.runtime.stop(shortcut ? { leave: 'graceful', left: check } : { leave: 'graceful' }).then(since),
      until(`${leader.name} sees ${leaving.name} left`, seen, { pollMs: 20 }).then(since),
      until(`${leaving.name} out of the Raft peers`, removed, { pollMs: 20 }).then(since),
    ]);
    return { name: leaving.name, gone, seenLeft, outOfPeers, leftCheck };
  } finally {
    self.close();
  }
}

const wallStart = performance.now();
try {
  lab = await createLab({ name: 'consul-bench', nodes: Math.max(5, ...SIZES), lan: false });
  await Promise.all(
    lab.nodes.map(async (node, i) => {
      await node.ip.setUp('eth0');
      await node.ip.addAddress('eth0', `${addressOf(i)}/24`);
    }),
  );
  forwards = await Promise.all(lab.nodes.map((node) => forwardNodePort(node, HTTP_PORT)));
  const version = await new BinaryRuntime({ runner: lab.nodes[0].runner, binary: bin, runDir: lab.nodes[0].dir }).version();
  if (formatConsulVersion(version) !== '1.8.7') throw new Error(`${bin} is Consul ${formatConsulVersion(version)}, not the real 1.8.7`);
  console.log(
    `real Consul ${formatConsulVersion(version)} (${bin}), ${lab.nodes.length}-node lab; ACLs (default deny) + gossip key from a new cluster secret per run; ${SERVERS} servers, the rest clients`,
  );

  const boots = [];
  for (let r = 0; r < RUNS; r++) boots.push(await bootstrapOnce());
  for (const [r, b] of boots.entries()) {
    console.log(
      `bootstrap run ${r + 1}: begin() ${ms(b.begun)}, running ${ms(b.running)}, Raft leader ${ms(b.leader)}, ready (ACLs up, agent token) ${ms(b.ready)}`,
    );
  }
  const bootLeader = median(boots.map((b) => b.leader));
  console.log(
    `BENCH consul bootstrap: first server begin() to Raft leader (real Consul 1.8.7, ACL + gossip key, ${runsLabel}) | ${Math.round(bootLeader)} | ms | -`,
  );
  console.log(
    `BENCH consul bootstrap: first server begin() to ready() (ACLs up, agent token) (real Consul 1.8.7, ${runsLabel}) | ${Math.round(median(boots.map((b) => b.ready)))} | ms | -`,
  );

  for (const n of SIZES) {
    const runs = [];
    for (let r = 0; r < RUNS; r++) {
      const cluster = await formCluster(n);
      await cluster.remove();
      runs.push(cluster.times);
      const t = cluster.times;
      console.log(
        `formation N=${n} run ${r + 1}: all begin() ${ms(t.begun)}, all running ${ms(t.running)}, all ready() ${ms(t.ready)}, every agent sees ${n} alive + a leader ${ms(t.formed)} (last: ${t.last.name}, ${t.last.server ? 'server' : 'client'})`,
      );
    }
    const roles = `${Math.min(n, SERVERS)} servers${n > SERVERS ? ` + ${n - SERVERS} clients` : ''}`;
    console.log(
      `BENCH consul formation N=${n} (real Consul 1.8.7, ACL + gossip key, ${roles}, all at once, ${runsLabel}) | ${Math.round(median(runs.map((t) => t.formed)))} | ms | -`,
    );
  }

  const storeCluster = await formCluster(5);
  try {
    const s = await storeLatency(storeCluster);
    console.log(
      `store on 3 servers + 2 clients (median of ${STORE_SAMPLES}; every request through the loopback forward, whose HTTP round trip to the agent is ${s.floor.toFixed(2)} ms): put via the Raft leader's agent (${s.leader.name}) ${s.put.toFixed(2)} ms, get ${s.get.toFixed(2)} ms, put via a client agent (${s.client.name}) ${s.putViaClient.toFixed(2)} ms`,
    );
    console.log(
      `waitFor on ${s.client.name} (client agent), put on ${s.writer.name} (server) (median of ${WAKE_SAMPLES}): put acknowledged ${s.ack.toFixed(1)} ms, waiter resolved ${s.wake.toFixed(1)} ms after the put was sent`,
    );
    console.log(`BENCH consul store put via the leader's agent (real Consul 1.8.7, 3 servers, ACL) | ${s.put.toFixed(2)} | ms | -`);
    console.log(`BENCH consul store put via a client agent (real Consul 1.8.7, 3 servers, ACL) | ${s.putViaClient.toFixed(2)} | ms | -`);
    console.log(
      `BENCH consul store waitFor wake-up on another node (real Consul 1.8.7, blocking query, from put sent) | ${s.wake.toFixed(1)} | ms | < 50`,
    );
    const l = await serverLeave(storeCluster, true);
    console.log(
      `leave of server ${l.name} as cluster-lab stop does it (SIGTERM, leave check, 2nd SIGTERM): leader sees it left ${ms(l.seenLeft)}, out of the Raft peers ${ms(l.outOfPeers)}, leave check done ${l.leftCheck === undefined ? 'never' : ms(l.leftCheck)}, process gone ${ms(l.gone)}`,
    );
    console.log(
      `BENCH consul server leave, SIGTERM to process gone (cluster-lab stop: leave check + 2nd SIGTERM) | ${Math.round(l.gone)} | ms | -`,
    );
  } finally {
    await storeCluster.remove();
  }
  const plainCluster = await formCluster(5);
  try {
    const l = await serverLeave(plainCluster, false);
    console.log(
      `leave of server ${l.name}, plain SIGTERM (Consul's own shutdown): leader sees it left ${ms(l.seenLeft)}, out of the Raft peers ${ms(l.outOfPeers)}, process gone ${ms(l.gone)}`,
    );
    console.log(
      `BENCH consul server leave, SIGTERM to process gone (plain SIGTERM, Consul's own shutdown) | ${Math.round(l.gone)} | ms | -`,
    );
  } finally {
    await plainCluster.remove();
  }
} finally {
  for (const f of forwards) f.close();
  await lab?.destroy();
  console.log(`consul-bench: wall time ${((performance.now() - wallStart) / 1000).toFixed(1)} s`);
}
