// Where a formation's time goes: starts `cluster-lab start --json` on N lab nodes at once (real
// Consul, vxlan backend, the same config `lab up` writes) and prints every node's step durations,
// then the time until `health` passes on every node. Needs root, real Consul (setup) and a build.
// Usage: node bench/formation-steps.mjs [N] [rounds]   (default 3 nodes, 1 round)
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cliArgv } from '../packages/cli/dist/index.js';
import { findConsulBinary } from '../packages/consul/dist/index.js';
import { createLab } from '../packages/lab/dist/index.js';

const n = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 1);
const consul = await findConsulBinary();
if (!consul) throw new Error('no real consul: run scripts/setup.sh as root');
const jsonLines = (text) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));

for (let round = 1; round <= rounds; round++) {
  const lab = await createLab({ name: 'bench-steps', nodes: n, docker: true, lan: true });
  try {
    const configs = [];
    for (const node of lab.nodes) {
      const file = join(node.dir, 'config.json');
      await writeFile(
        file,
        JSON.stringify({
          interface: 'eth0',
          network: { backend: 'vxlan' },
          hostname: node.name,
          stateDir: join(node.dir, 'cluster-lab'),
          docker: { socket: node.dockerSocket },
          consul: { runtime: 'binary', binary: consul },
        }),
      );
      configs.push(file);
    }
    const t0 = performance.now();
    const runs = await Promise.all(
      lab.nodes.map(async (node, i) => {
        const r = await node.runner.run(process.execPath, cliArgv(['start', '--json', '--config', configs[i]]), {
          reject: false,
          timeoutMs: 300_000,
        });
        return { node: node.name, at: performance.now() - t0, r };
      }),
    );
    for (const { node, at, r } of runs) {
      const events = jsonLines(r.stdout);
      const steps = events.filter((e) => e.type === 'step-finished').map((e) => `${e.step} ${(e.durationMs / 1000).toFixed(2)}`);
      const result = events.find((e) => e.type === 'result') ?? {};
      console.log(`${node} ${result.role ?? 'FAILED'} done at ${(at / 1000).toFixed(2)} s: ${steps.join(' | ')}`);
      if (r.exitCode !== 0) console.log(r.stdout.slice(-2000), r.stderr.slice(-2000));
    }
    for (;;) {
      const health = await Promise.all(
        lab.nodes.map((node, i) =>
          node.runner.run(process.execPath, cliArgv(['health', '--config', configs[i]]), { reject: false, timeoutMs: 60_000 }),
        ),
      );
      if (health.every((h) => h.exitCode === 0)) break;
      if (performance.now() - t0 > 120_000) {
        console.log('not healthy after 120 s', health.map((h) => h.stdout).join('\n'));
        break;
      }
    }
    console.log(`round ${round}: ${n} nodes healthy at ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    await Promise.all(
      lab.nodes.map((node, i) =>
        node.runner.run(process.execPath, cliArgv(['stop', '--config', configs[i]]), { reject: false, timeoutMs: 120_000 }),
      ),
    );
  } finally {
    await lab.destroy();
  }
}
