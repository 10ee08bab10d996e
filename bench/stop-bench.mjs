// Stop times of a 3-node lab on REAL Consul (issue 16 targets: `stop` ≤ 3 s per node,
// `lab down` ≤ 5 s for 3 nodes), measured as a user sees them: the wall time of each
// `cluster-lab` process, CLI start-up included. Per round:
//   1. `lab up` (3 nodes, all started at once);
//   2. one follower stops alone while the cluster stays (single-node stop), then starts again;
//   3. every node stops at once (`cluster-lab stop` in the 3 nodes simultaneously), then all start again;
//   4. `lab down` (stops every node and removes the lab).
// Needs root, a build (`npm run build`) and real Consul (scripts/setup.sh). Usage:
//   node bench/stop-bench.mjs [rounds]      (default 2)
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliArgv } from '../packages/cli/dist/index.js';
import { openLab } from '../packages/lab/dist/index.js';

const rounds = Number(process.argv[2] ?? 2);
const LAB = 'cluster-lab';
const bench = (metric, value, unit, target = '-') => console.log(`BENCH ${metric} | ${value} | ${unit} | ${target}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs) => Math.max(...xs);
const s = (ms) => (ms / 1000).toFixed(2);

/** Runs this build's CLI on the host; resolves with exit code, output and wall time. */
function cli(args, timeoutMs = 600_000) {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      cliArgv(args),
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr, ms: performance.now() - started });
      },
    );
  });
}

/**
 * How often dockerd of a lab node gave up waiting for its ingress network's removal on a swarm
 * leave (a 5 s wait inside `docker swarm leave`, which this lab's kernel — no IPVS — provokes).
 */
async function ingressTimeouts(node) {
  const log = await readFile(join(node.dir, 'dockerd.log'), 'utf8').catch(() => '');
  return log.split('timeout while waiting for ingress network removal').length - 1;
}

/** `cluster-lab <args> --json` inside a lab node; wall time, and the stop's own duration from its events. */
async function inNode(node, args) {
  const ingressBefore = await ingressTimeouts(node);
  const startedAt = Date.now();
  const started = performance.now();
  const r = await node.runner.run(process.execPath, cliArgv([...args, '--config', join(node.dir, 'config.yaml'), '--json']), {
    reject: false,
    timeoutMs: 300_000,
    env: { NO_COLOR: '1', CLUSTER_LAB_DAEMON_LOGS: 'file' },
  });
  const ms = performance.now() - started;
  const endedAt = Date.now();
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const rollback = events.find((e) => e.type === 'rollback-finished');
  // Time of each undone change, relative to the process start; the CLI's start-up (to its first
  // event) and its exit (after its last) are the rest of the wall time.
  const at = (e) => ((Date.parse(e.time) - startedAt) / 1000).toFixed(1);
  const undo = events.filter((e) => e.type === 'undo').map((e) => `${e.kind}@${at(e)}`);
  const consul = events.filter((e) => e.type === 'log' && /stopped consul agent/.test(e.message)).map((e) => e.message);
  const timed = events.filter((e) => e.time);
  const first = timed[0] ? (Date.parse(timed[0].time) - startedAt) / 1000 : Number.NaN;
  const last = timed.at(-1) ? (endedAt - Date.parse(timed.at(-1).time)) / 1000 : Number.NaN;
  if (r.exitCode !== 0) throw new Error(`${node.name}: cluster-lab ${args[0]} failed (exit ${r.exitCode}): ${r.stdout}${r.stderr}`);
  const ingress = (await ingressTimeouts(node)) - ingressBefore;
  return {
    ms,
    inner: rollback?.durationMs,
    undo: [
      `first event@${first.toFixed(1)}`,
      ...undo,
      `exit +${last.toFixed(1)}`,
      ...consul,
      ...(ingress ? [`dockerd: ${ingress}× ingress removal timeout (5 s) in swarm leave`] : []),
    ],
  };
}

const singles = [];
const all = [];
const downs = [];
for (let round = 1; round <= rounds; round++) {
  await cli(['lab', 'down']);
  const up = await cli(['lab', 'up', '--nodes', '3']);
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stdout}${up.stderr}`);
  const lab = await openLab(LAB);
  const statuses = await Promise.all(
    lab.nodes.map(async (n) => {
      const r = await n.runner.run(process.execPath, cliArgv(['status', '--json', '--config', join(n.dir, 'config.yaml')]), {
        reject: false,
      });
      return JSON.parse(r.stdout.split('\n').find((l) => l.includes('"type":"status"')));
    }),
  );
  const follower = lab.nodes[statuses.findIndex((st) => st.role === 'follower')];

  const single = await inNode(follower, ['stop']);
  singles.push(single.ms);
  console.log(
    `round ${round}: single follower stop (${follower.name}) ${s(single.ms)} s (stopNode ${s(single.inner ?? 0)} s) [${single.undo.join(' ')}]`,
  );
  await inNode(follower, ['start']);

  const runs = await Promise.all(lab.nodes.map((n) => inNode(n, ['stop'])));
  all.push(...runs.map((r) => r.ms));
  console.log(
    `round ${round}: simultaneous stop of 3 nodes: ${runs
      .map((r, i) => `${lab.nodes[i].name} ${s(r.ms)} s (stopNode ${s(r.inner ?? 0)} s) [${r.undo.join(' ')}]`)
      .join('; ')}`,
  );
  await Promise.all(lab.nodes.map((n) => inNode(n, ['start'])));

  const down = await cli(['lab', 'down']);
  if (down.code !== 0) throw new Error(`lab down failed: ${down.stdout}${down.stderr}`);
  downs.push(down.ms);
  console.log(`round ${round}: lab down (3 nodes) ${s(down.ms)} s: ${down.stdout.trim().split('\n').at(-1)}`);
}
bench('stop, one follower alone (median)', s(median(singles)), 's', '≤ 3 s');
bench('stop, 3 nodes at once: per node (median)', s(median(all)), 's', '≤ 3 s');
bench('stop, 3 nodes at once: per node (max)', s(max(all)), 's', '≤ 3 s');
bench('lab down, 3 nodes (median)', s(median(downs)), 's', '≤ 5 s');
