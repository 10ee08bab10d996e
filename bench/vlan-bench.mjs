// Times the cluster network backends on a 3-node namespace lab: ensure() on a fresh node
// (creates the link), ensure() again (idempotent no-op), teardown(), for `native` (eth1 on the
// cluster switch, brought up by ensure), `vxlan` with a multicast group and `vxlan` with static
// peers; then probeLink() between two nodes over vxlan. The `vlan` backend needs 802.1Q, which
// this kernel lacks: its refusal (KERNEL_NO_8021Q) is timed instead. Needs root and the builds:
//   npm run build -w packages/core -w packages/lab -w packages/vlan && node bench/vlan-bench.mjs [rounds]
import { loadavg } from 'node:os';
import { parseConfig } from '@cluster-lab/core';
import { createLab } from '@cluster-lab/lab';
import { createBackend, probeLink } from '@cluster-lab/vlan';

const rounds = Number(process.argv[2] ?? 10);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function time(fn) {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

const fmt = (xs) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;

const lab = await createLab({ name: 'vlanb', nodes: 3, clusterNic: true });
try {
  const peers = lab.nodes.map((n) => n.lanAddress);
  const configs = {
    native: parseConfig({ interface: 'eth1', network: { backend: 'native' } }),
    'vxlan-group': parseConfig({ interface: 'eth0', network: { backend: 'vxlan', vxlan: { vni: 200, name: 'vx200' } } }),
    'vxlan-peers': parseConfig({ interface: 'eth0', network: { backend: 'vxlan', vxlan: { vni: 300, name: 'vxp', peers } } }),
  };
  // Each ensure is a handful of `ip` processes, so the numbers follow the host's load closely.
  console.log(
    `3-node lab ${lab.id}, ${rounds} rounds per backend; times are per node (one ensure on one node); load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const [label, config] of Object.entries(configs)) {
    const first = [];
    const again = [];
    const down = [];
    const all3 = [];
    for (let r = 0; r < rounds; r++) {
      // native: start from a down NIC so ensure() has work to do (bring-up) and teardown undoes it.
      if (label === 'native') await Promise.all(lab.nodes.map((n) => n.ip.setDown('eth1')));
      const backends = lab.nodes.map((n) => createBackend(config, { network: n.ip, runner: n.runner }));
      const results = [];
      for (const b of backends) {
        const t = await time(() => b.ensure());
        first.push(t.ms);
        results.push(t.value);
      }
      for (const b of backends) again.push((await time(() => b.ensure())).ms);
      for (const [i, b] of backends.entries()) down.push((await time(() => b.teardown(results[i]))).ms);
      // The boot case: every node at once (the lab's nodes share this host's 2 cores).
      if (label === 'native') await Promise.all(lab.nodes.map((n) => n.ip.setDown('eth1')));
      const fresh = lab.nodes.map((n) => createBackend(config, { network: n.ip, runner: n.runner }));
      const par = await time(() => Promise.all(fresh.map((b) => b.ensure())));
      all3.push(par.ms);
      await Promise.all(fresh.map((b, i) => b.teardown(par.value[i])));
    }
    if (label === 'native') await Promise.all(lab.nodes.map((n) => n.ip.setUp('eth1')));
    console.log(
      `${label}\n  ensure (create/bring up): ${fmt(first)}\n  ensure again (no-op):     ${fmt(again)}\n  teardown:                 ${fmt(down)}\n  3 nodes ensure at once:   ${fmt(all3)}`,
    );
    console.log(`BENCH ${label} ensure | ${median(first).toFixed(1)} | ms | -`);
    console.log(`BENCH ${label} ensure again (idempotent) | ${median(again).toFixed(1)} | ms | -`);
    console.log(`BENCH ${label} teardown | ${median(down).toFixed(1)} | ms | -`);
    console.log(`BENCH ${label} 3 nodes ensure in parallel | ${median(all3).toFixed(1)} | ms | -`);
  }

  // vlan: this kernel has no 802.1Q; time how fast the refusal comes (it must leave nothing).
  const vlanTimes = [];
  let code = 'created';
  for (let r = 0; r < rounds; r++) {
    const n = lab.nodes[0];
    const backend = createBackend(parseConfig({ interface: 'eth0', network: { backend: 'vlan' } }), { network: n.ip, runner: n.runner });
    const t = await time(() =>
      backend.ensure().then(
        (res) => res,
        (e) => e,
      ),
    );
    vlanTimes.push(t.ms);
    if (t.value instanceof Error) code = t.value.code;
    else await backend.teardown(t.value);
  }
  console.log(`vlan (802.1Q) on this kernel: ${code}, ${fmt(vlanTimes)}`);
  console.log(`BENCH vlan ensure (${code}) | ${median(vlanTimes).toFixed(1)} | ms | -`);

  // probeLink over vxlan between node1 and node2.
  const [a, b] = lab.nodes;
  const config = configs['vxlan-group'];
  const ba = createBackend(config, { network: a.ip, runner: a.runner });
  const bb = createBackend(config, { network: b.ip, runner: b.runner });
  const [ra, rb] = await Promise.all([ba.ensure(), bb.ensure()]);
  const probes = [];
  let reachable = 0;
  for (let r = 0; r < rounds; r++) {
    const result = await probeLink({
      local: { network: a.ip, runner: a.runner, link: 'vx200' },
      peer: { network: b.ip, runner: b.runner, link: 'vx200' },
      backend: ba,
    });
    probes.push(result.durationMs);
    if (result.reachable) reachable++;
  }
  await ba.teardown(ra);
  await bb.teardown(rb);
  console.log(`probeLink over vxlan (node1 → node2): ${reachable}/${rounds} reachable, ${fmt(probes)}`);
  console.log(`BENCH probeLink vxlan | ${median(probes).toFixed(1)} | ms | -`);
} finally {
  await lab.destroy();
}
