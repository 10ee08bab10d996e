// Times the virtual lab: a 3-node lab with dockerd ready (target ≤ 5 s), a 10-node lab without
// dockerd (target ≤ 3 s), and their destroy times. Needs root and the built packages:
//   npm run build -w packages/core -w packages/lab && node bench/lab-bench.mjs [rounds]
import { ExecaRunner } from '@cluster-lab/core';
import { BUSYBOX_IMAGE, createLab } from '@cluster-lab/lab';

const rounds = Number(process.argv[2] ?? 3);
const runner = new ExecaRunner();

async function time(fn) {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measure(label, options, during) {
  const create = [];
  const destroy = [];
  for (let i = 0; i < rounds; i++) {
    const { ms, value: lab } = await time(() => createLab(options));
    create.push(ms);
    try {
      if (during) await during(lab);
    } finally {
      destroy.push((await time(() => lab.destroy())).ms);
    }
  }
  const fmt = (xs) => `median ${(median(xs) / 1000).toFixed(2)} s (runs: ${xs.map((x) => (x / 1000).toFixed(2)).join(', ')})`;
  console.log(`${label}\n  create:  ${fmt(create)}\n  destroy: ${fmt(destroy)}`);
  const target = /target (.+)\)/.exec(label)?.[1] ?? '-';
  console.log(`BENCH lab create: ${label.replace(/ \(target.*\)/, '')} | ${(median(create) / 1000).toFixed(2)} | s | ${target}`);
  console.log(`BENCH lab destroy: ${label.replace(/ \(target.*\)/, '')} | ${(median(destroy) / 1000).toFixed(2)} | s | -`);
  return { create: median(create), destroy: median(destroy) };
}

const results = {};
results.docker3 = await measure('3 nodes, dockerd ready (target ≤ 5 s)', { name: 'bench', nodes: 3, docker: true });
results.image3 = await measure('3 nodes, dockerd ready + busybox image imported', { name: 'bench', nodes: 3, docker: true, image: true });
results.plain10 = await measure('10 nodes, no dockerd (target ≤ 3 s)', { name: 'bench', nodes: 10 });
results.busy3 = await measure(
  '3 nodes with a running container each (destroy stops them)',
  { name: 'bench', nodes: 3, docker: true, image: true },
  async (lab) => {
    await Promise.all(
      lab.nodes.map((n) =>
        runner.run('docker', ['-H', `unix://${n.dockerSocket}`, 'run', '-d', '--network', 'none', BUSYBOX_IMAGE, 'sleep', '300']),
      ),
    );
  },
);
console.log(
  JSON.stringify({
    rounds,
    mediansMs: Object.fromEntries(
      Object.entries(results).map(([k, v]) => [k, { create: Math.round(v.create), destroy: Math.round(v.destroy) }]),
    ),
  }),
);
