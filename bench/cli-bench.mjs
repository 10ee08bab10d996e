// CLI benchmarks: `--help` start-up, and the headline number — wall time from a simultaneous
// `cluster-lab start` on N lab nodes to a healthy cluster — next to plain `docker swarm init` +
// `join` on the same nodes in the same run, plus peak RSS of `start`.
// Needs root and a build (`npm run build`). Usage: node bench/cli-bench.mjs [N ...] (default 3 5 10)
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI_NODE_FLAGS, cliArgv } from '../packages/cli/dist/index.js';
import { FAKE_CONSUL_BIN } from '../packages/consul/dist/testing/index.js';
import { createLab } from '../packages/lab/dist/index.js';

const CLI = new URL('../packages/cli/dist/bin.js', import.meta.url).pathname;
const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const NODES = sizes.length ? sizes : [3, 5, 10];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bench = (metric, value, unit, target = '-') => console.log(`BENCH ${metric} | ${value} | ${unit} | ${target}`);

// 1. --help start-up (no Docker/Consul clients are loaded for it)
const helps = [];
for (let i = 0; i < 15; i++) {
  const t = performance.now();
  execFileSync(process.execPath, [...CLI_NODE_FLAGS, CLI, '--help'], { stdio: 'ignore' });
  helps.push(performance.now() - t);
}
bench('cluster-lab --help start-up (median of 15)', median(helps).toFixed(0), 'ms', '≤ 150 ms');

for (const n of NODES) {
  const lab = await createLab({ name: 'bench-cli', nodes: n, docker: true, lan: true });
  try {
    const configs = [];
    for (const node of lab.nodes) {
      const file = join(node.dir, 'config.json');
      const stateDir = join(node.dir, 'cluster-lab');
      await writeFile(
        file,
        JSON.stringify({
          interface: 'eth0',
          network: { backend: 'vxlan' },
          hostname: node.name,
          stateDir,
          docker: { socket: node.dockerSocket },
          consul: { runtime: 'binary', binary: FAKE_CONSUL_BIN },
        }),
      );
      configs.push(file);
    }
    const t0 = performance.now();
    const runs = await Promise.all(
      lab.nodes.map((node, i) =>
        node.runner.run('/usr/bin/time', ['-f', 'RSS_KB=%M', process.execPath, ...cliArgv(['start', '--config', configs[i]])], {
          reject: false,
          timeoutMs: 300_000,
        }),
      ),
    );
    const started = performance.now() - t0;
    const failed = runs.filter((r) => r.exitCode !== 0);
    if (failed.length) {
      console.log(`${failed.length} node(s) failed:\n${failed.map((r) => r.stdout + r.stderr).join('\n')}`);
      bench(`formation ${n} nodes (cluster-lab start, simultaneous)`, 'FAILED', 's', n <= 3 ? '≤ 5 s' : '≤ 10 s');
      continue;
    }
    // healthy = health passes on the leader (it checks every node is Ready in the swarm)
    const health = await lab.nodes[0].runner.run(process.execPath, [CLI, 'health', '--config', configs[0]], {
      reject: false,
      timeoutMs: 120_000,
    });
    const healthy = performance.now() - t0;
    const rss = runs.map((r) => Number(/RSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? 0));
    console.log(
      `${n} nodes: all started in ${(started / 1000).toFixed(2)} s, health ${health.exitCode === 0 ? 'PASS' : 'FAIL'} at ${(healthy / 1000).toFixed(2)} s`,
    );
    bench(
      `formation ${n} nodes: simultaneous start → healthy`,
      (healthy / 1000).toFixed(2),
      's',
      n <= 3 ? '≤ 5 s' : n <= 10 ? '≤ 10 s' : '-',
    );
    bench(`peak RSS of start (max over ${n} nodes)`, (Math.max(...rss) / 1024).toFixed(0), 'MB', '≤ 80 MB');
    await Promise.all(
      lab.nodes.map((node, i) =>
        node.runner.run(process.execPath, cliArgv(['stop', '--config', configs[i]]), { reject: false, timeoutMs: 120_000 }),
      ),
    );

    // plain swarm mode on the same nodes and dockerds: init on node1, everyone else joins at once
    const docker = (node, args) => node.runner.run('docker', ['-H', `unix://${node.dockerSocket}`, ...args], { timeoutMs: 120_000 });
    await Promise.all(
      lab.nodes.map((node) =>
        node.runner.run('docker', ['-H', `unix://${node.dockerSocket}`, 'swarm', 'leave', '--force'], { reject: false }),
      ),
    );
    const t1 = performance.now();
    await docker(lab.nodes[0], ['swarm', 'init', '--advertise-addr', lab.nodes[0].lanAddress]);
    const token = (await docker(lab.nodes[0], ['swarm', 'join-token', '-q', 'worker'])).stdout.trim();
    await Promise.all(
      lab.nodes
        .slice(1)
        .map((node) =>
          docker(node, ['swarm', 'join', '--token', token, '--advertise-addr', node.lanAddress, `${lab.nodes[0].lanAddress}:2377`]),
        ),
    );
    const plain = performance.now() - t1;
    bench(`plain docker swarm init + ${n - 1} joins (no DHCP/Consul/election)`, (plain / 1000).toFixed(2), 's');
    await Promise.all(lab.nodes.map((node) => docker(node, ['swarm', 'leave', '--force']).catch(() => {})));
  } finally {
    await lab.destroy();
  }
}
