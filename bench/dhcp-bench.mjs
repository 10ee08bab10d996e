#!/usr/bin/env node
// Benchmark of @cluster-lab/dhcp on a namespace lab (root): time from the leader's DHCP server
// start to all N followers leased, for N = 3 and 10 (override: `node bench/dhcp-bench.mjs 3 5 10`).
//
// Two scenarios per N:
//   boot-together  followers start their clients at the same moment the leader starts its server
//                  (everyone powers on at once): server start includes the rogue-server probe.
//   server-first   followers start only once the server serves: pure lease time.
//
// Needs the built packages: `npm run build -w packages/core -w packages/lab -w packages/dhcp`.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const imports = await Promise.all([import('@cluster-lab/core'), import('@cluster-lab/lab'), import('@cluster-lab/dhcp')]).catch((error) => {
  console.error(`cannot load the built packages (${error.message}); run: npm run build -w packages/core -w packages/lab -w packages/dhcp`);
  process.exit(2);
});
const [{ parseConfig }, { createLab }, { createDhcpClient, dnsmasqServer }] = imports;

if (process.getuid?.() !== 0) {
  console.error('dhcp-bench needs root (network namespaces)');
  process.exit(2);
}

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const ms = (t) => Math.round(t);

async function scenario(n, mode) {
  const lab = await createLab({ name: 'dhcpb', nodes: n + 1, lan: true, clusterNic: true });
  const stateDir = await mkdtemp(join(tmpdir(), 'cl-dhcp-bench-'));
  await chmod(stateDir, 0o755);
  const clients = [];
  let server;
  try {
    const [leader, ...followers] = lab.nodes;
    await leader.ip.addAddress('eth1', '192.168.200.1/24');
    const configOf = (node) => parseConfig({ stateDir: join(stateDir, node.name), dhcp: { timeoutSeconds: 20 } });
    for (const node of followers) {
      clients.push(await createDhcpClient({ runner: node.runner, network: node.ip, config: configOf(node), link: 'eth1' }));
    }
    const t0 = performance.now();
    const starting = dnsmasqServer({ runner: leader.runner, config: configOf(leader), link: 'eth1', uplink: 'eth0' })
      .start()
      .then((s) => {
        server = s;
        return performance.now();
      });
    const tServing = mode === 'server-first' ? await starting : undefined;
    const tClients = performance.now();
    const leases = await Promise.all(clients.map((c) => c.obtain().then((lease) => ({ lease, at: performance.now() }))));
    const serving = tServing ?? (await starting);
    const tAll = Math.max(...leases.map((l) => l.at));
    const distinct = new Set(leases.map((l) => l.lease.ip)).size;
    return {
      n,
      mode,
      serverStartMs: ms(serving - t0),
      allLeasedAfterServerStartMs: ms(tAll - t0),
      allLeasedAfterServingMs: ms(tAll - Math.max(serving, tClients)),
      distinct,
    };
  } finally {
    for (const c of clients) await c.release().catch(() => {});
    await server?.stop().catch(() => {});
    await lab.destroy();
    await rm(stateDir, { recursive: true, force: true });
  }
}

const results = [];
for (const n of sizes.length ? sizes : [3, 10]) {
  for (const mode of ['boot-together', 'server-first']) {
    const r = await scenario(n, mode);
    results.push(r);
    console.log(
      `dhcp N=${String(r.n).padStart(2)} ${r.mode.padEnd(13)} server start (probe+dnsmasq) ${String(r.serverStartMs).padStart(5)} ms | ` +
        `all leased ${String(r.allLeasedAfterServerStartMs).padStart(5)} ms after server start, ${String(r.allLeasedAfterServingMs).padStart(5)} ms after serving | ${r.distinct}/${r.n} distinct`,
    );
    console.log(
      `BENCH dhcp ${r.n} followers (${r.mode}): all leased after the server serves | ${r.allLeasedAfterServingMs} | ms | ${r.n <= 3 ? '≤ 2000 ms' : '-'}`,
    );
  }
}
console.log(JSON.stringify(results));
