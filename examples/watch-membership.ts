/**
 * Watch the cluster's membership through Consul: prints the members once, then one line per
 * change — a node joined, left or failed, or the Consul leader moved — until Ctrl-C.
 *
 * Every node runs a Consul agent whose HTTP API listens on loopback, so on any node:
 *
 *   node examples/watch-membership.ts                      # uses /etc/cluster-lab/config.yaml if present
 *   node examples/watch-membership.ts --address 192.168.200.1:8500 --once
 *
 * Options: --config <file> (for consul.httpPort and the token: consul.aclToken, or the management
 * token derived from the cluster secret in secretFile), --address host:port
 * (default 127.0.0.1:<consul.httpPort>), --interval <seconds> (default 2), --once (print and exit).
 */
import { parseArgs } from 'node:util';
import { ConsulClient, type ConsulMember } from '@cluster-lab/consul';
import { consulSecrets, loadClusterKeys, loadConfig } from '@cluster-lab/core';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    address: { type: 'string' },
    interval: { type: 'string', default: '2' },
    once: { type: 'boolean', default: false },
  },
});

const { config } = await loadConfig({ env: process.env, ...(values.config ? { file: values.config } : {}) });
const address = values.address ?? `127.0.0.1:${config.consul.httpPort}`;
// Consul runs with ACLs (default deny): the management token comes from the config or the cluster secret.
const { token } = consulSecrets(config, await loadClusterKeys(config));
const client = new ConsulClient({ address, ...(token ? { token } : {}) });
const intervalMs = Math.max(0.2, Number(values.interval)) * 1000;

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());

const describe = (m: ConsulMember) => `${m.name} ${m.address} (${m.role}, ${m.status})`;

function printTable(members: ConsulMember[], leader: string | undefined): void {
  console.log(`Consul at ${address}: ${members.length} members, leader ${leader ?? '(none)'}`);
  for (const m of [...members].sort((a, b) => a.name.localeCompare(b.name))) {
    console.log(`  ${m.name.padEnd(16)} ${m.address.padEnd(16)} ${m.role.padEnd(7)} ${m.status}`);
  }
}

/** What changed between two snapshots, as printable lines. */
function diff(before: Map<string, ConsulMember>, after: Map<string, ConsulMember>): string[] {
  const lines: string[] = [];
  for (const [name, m] of after) {
    const old = before.get(name);
    if (!old) lines.push(`+ ${describe(m)} joined`);
    else if (old.status !== m.status) lines.push(`~ ${m.name} ${m.address} (${m.role}) ${old.status} → ${m.status}`);
    else if (old.address !== m.address) lines.push(`~ ${m.name} moved ${old.address} → ${m.address}`);
  }
  for (const [name, m] of before) if (!after.has(name)) lines.push(`- ${m.name} ${m.address} was reaped`);
  return lines;
}

const snapshot = async () => new Map((await client.members()).map((m) => [m.name, m] as const));

try {
  // A freshly booted cluster may not have elected its Consul leader yet.
  let leader: string | undefined = await client.waitForLeader({ timeoutMs: 30_000, signal: stop.signal });
  let members = await snapshot();
  printTable([...members.values()], leader);
  while (!values.once && !stop.signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    if (stop.signal.aborted) break;
    const now = await snapshot();
    const nowLeader = await client.leader();
    const stamp = new Date().toISOString().slice(11, 19);
    for (const line of diff(members, now)) console.log(`${stamp} ${line}`);
    if (nowLeader !== leader) console.log(`${stamp} leader ${leader ?? '(none)'} → ${nowLeader ?? '(none)'}`);
    members = now;
    leader = nowLeader;
  }
} finally {
  client.close();
}
