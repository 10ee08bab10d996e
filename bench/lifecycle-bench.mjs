#!/usr/bin/env node
// Lifecycle benchmark (issue 13): a 3-node lab on real Consul, faults injected through the lab.
//   leader loss    → another node holds the leader address AND answers DHCP   (leader power-off)
//   leader restart → the old leader is back as a member, the cluster healthy   (power-on + start)
//   partition heal → one holder again and every node healthy                   (leader cut off alone)
// Prints one line per measurement, in seconds. Needs root and the built packages (npm run build).
//
// Run from the repo root:  node bench/lifecycle-bench.mjs [--nodes 3] [--timeout 120]
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);
const imports = await Promise.all([import('@cluster-lab/lab'), import('@cluster-lab/consul')]).catch((error) => {
  console.error(`lifecycle-bench: build the packages first (npm run build): ${error.message}`);
  process.exit(2);
});
const [{ createLab }, { findConsulBinary }] = imports;
const { values } = parseArgs({ options: { nodes: { type: 'string', default: '3' }, timeout: { type: 'string', default: '120' } } });
if (process.getuid?.() !== 0) {
  console.error('lifecycle-bench: needs root (network namespaces)');
  process.exit(2);
}
const NODES = Number(values.nodes);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const VIP = '192.168.200.1';
const LINK = 'vx200';
const CLI = new URL('../packages/cli/dist/bin.js', import.meta.url).pathname;
const consul = await findConsulBinary();
if (!consul) {
  console.error('lifecycle-bench: no real consul (sudo bash scripts/setup.sh)');
  process.exit(2);
}

// One more node than the cluster: it never starts and asks for DHCP leases like a new machine.
const lab = await createLab({ name: 'lcbench', nodes: NODES + 1, docker: true, image: true });
const station = lab.nodes[NODES];
const members = lab.nodes.slice(0, NODES);
/** The server id of a DHCP answer on the cluster VNI, asked through a temporary link of the station (released again). */
const dhcpAnswer = async () => {
  const ip = (args) => run('nsenter', [`--net=/run/netns/${station.netns}`, '--', 'ip', ...args]);
  await ip(['link', 'add', 'vxprobe', 'type', 'vxlan', 'id', '200', 'group', '239.1.1.200', 'dev', 'eth0', 'dstport', '4790']);
  try {
    await ip(['link', 'set', 'vxprobe', 'up']);
    const r = await run(
      'nsenter',
      [
        `--net=/run/netns/${station.netns}`,
        '--',
        'udhcpc',
        '-f',
        '-q',
        '-n',
        '-R',
        '-i',
        'vxprobe',
        '-s',
        '/bin/true',
        '-t',
        '2',
        '-T',
        '1',
      ],
      { timeout: 10_000 },
    ).catch((e) => e);
    return /obtained from (\d+\.\d+\.\d+\.\d+)/.exec(`${r.stdout ?? ''}\n${r.stderr ?? ''}`)?.[1];
  } finally {
    await ip(['link', 'del', 'vxprobe']).catch(() => undefined);
  }
};
const configOf = (node) => join(node.dir, 'config.yaml');
const cli = async (node, args) => {
  try {
    await run(
      'nsenter',
      [`--net=/run/netns/${node.netns}`, `--uts=${node.utsFile}`, '--', process.execPath, CLI, ...args, '--config', configOf(node)],
      {
        timeout: 300_000,
        maxBuffer: 1 << 26,
      },
    );
    return true;
  } catch {
    return false;
  }
};
const holders = async (nodes) => {
  const out = [];
  for (const n of nodes) if ((await n.ip.listAddresses(LINK).catch(() => [])).some((a) => a.local === VIP)) out.push(n);
  return out;
};
const until = async (what, fn) => {
  const start = Date.now();
  for (;;) {
    if (await fn().catch(() => false)) return (Date.now() - start) / 1000;
    if (Date.now() - start > TIMEOUT_MS) return `not within ${TIMEOUT_MS / 1000} s (${what})`;
    await new Promise((r) => setTimeout(r, 100));
  }
};
const healthy = async (nodes) =>
  (await holders(nodes)).length === 1 && (await Promise.all(nodes.map((n) => cli(n, ['health'])))).every(Boolean);
const fmt = (x) => (typeof x === 'number' ? `${x.toFixed(1)} s` : x);

const results = [];
try {
  for (const node of members) {
    await writeFile(
      configOf(node),
      JSON.stringify({
        interface: 'eth0',
        network: { backend: 'vxlan' },
        hostname: node.name,
        stateDir: join(node.dir, 'cluster-lab'),
        secretFile: lab.secretFile,
        docker: { socket: node.dockerSocket },
        consul: { runtime: 'binary', binary: consul },
      }),
    );
  }
  const formed = await until('formation', async () => (await Promise.all(members.map((n) => cli(n, ['start'])))).every(Boolean));
  results.push(['formation (all nodes start at once)', formed]);
  await until('healthy', () => healthy(members));

  // Leader loss.
  const [leader] = await holders(members);
  const rest = members.filter((n) => n !== leader);
  await lab.powerOff(leader);
  results.push([
    'leader loss → new holder serving DHCP',
    await until('new holder serving DHCP', async () => (await holders(rest)).length === 1 && (await dhcpAnswer()) !== undefined),
  ]);

  // Leader restart.
  const back = Date.now();
  await lab.powerOn(leader);
  await cli(leader, ['start']);
  const rejoined = await until('rejoined', () => healthy(members));
  results.push(['leader restart → rejoined, cluster healthy', typeof rejoined === 'number' ? (Date.now() - back) / 1000 : rejoined]);

  // Partition heal.
  const [holder] = await holders(members);
  const others = members.filter((n) => n !== holder);
  if (holder) {
    await lab.partition([[holder], others]);
    await until('majority holder', async () => (await holders(others)).length === 1);
    await lab.heal();
    results.push(['partition heal → converged', await until('converged', () => healthy(members))]);
  }
} finally {
  await Promise.all(members.map((n) => cli(n, ['stop']))).catch(() => undefined);
  await lab.destroy();
}
console.log(`lifecycle, ${NODES}-node lab, real Consul, vxlan (machine shared with other work: timings are noisy)`);
for (const [what, value] of results) console.log(`  ${what.padEnd(44)} ${fmt(value)}`);
