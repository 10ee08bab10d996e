import { collectStatus } from '@cluster-lab/node';
import type { Command } from 'commander';
import { loadNodeView } from './node-view.js';

/** `cluster-lab status`. */
export async function run(...args: unknown[]): Promise<void> {
  const { out, node, journal } = await loadNodeView(args.at(-1) as Command);
  const s = await collectStatus(node, journal);
  if (out.options.json) {
    out.json(s);
    return;
  }
  if (!s.running) {
    out.line(
      `not running${journal ? ` (journal status: ${journal.status})` : ''}; cluster link ${s.backend.name}: ${s.backend.exists ? (s.backend.up ? 'up' : 'down') : 'absent'}`,
    );
    return;
  }
  out.line(
    `${out.paint('bold', s.role ?? '?')} ${s.address} on ${s.link} (${s.backend.kind}); ${s.holdsLeaderAddress ? `holds the leader address ${s.leaderAddress}` : `leader address ${s.leaderAddress}`}`,
  );
  if (s.clusterId) out.line(`cluster ${s.clusterId}${s.swarmClusterId ? `, swarm ${s.swarmClusterId}` : ''}`);
  if (s.bootstrappedAlone)
    out.warn(
      `this node bootstrapped a new cluster at ${s.bootstrappedAlone.at}: nobody answered at ${s.bootstrappedAlone.candidates.join(', ')} — if that cluster still runs, this is a split (see \`cluster-lab health\`)`,
    );
  if (s.leases) {
    out.line(`\nDHCP leases (${s.leases.length}):`);
    out.table(
      ['IP', 'MAC', 'HOSTNAME', 'EXPIRES'],
      s.leases.map((l) => [l.ip, l.mac, l.hostname ?? '', l.expiresAt ?? 'never']),
    );
  }
  if (s.consul) {
    out.line(
      `\nConsul: ${s.consul.error ? out.paint('red', s.consul.error) : `${s.consul.server ? 'server' : 'client'}, leader ${s.consul.leader ?? 'none'}`}`,
    );
    if (s.consul.members.length)
      out.table(
        ['MEMBER', 'ADDRESS', 'STATUS', 'TYPE'],
        s.consul.members.map((m) => [m.name, m.address, m.status, m.role]),
      );
  }
  if (s.swarm) {
    out.line(
      `\nSwarm: ${s.swarm.error ? out.paint('red', s.swarm.error) : `${s.swarm.role ?? ''} (${s.swarm.state})${s.swarm.managers ? `, ${s.swarm.managers} managers` : ''}`}`,
    );
    if (s.swarm.nodes)
      out.table(
        ['NODE', 'ROLE', 'STATE', 'AVAILABILITY', 'ADDRESS'],
        s.swarm.nodes.map((n) => [n.hostname, n.role, n.state, n.availability, n.address]),
      );
  }
  if (s.supervisor) {
    const v = s.supervisor;
    const holder =
      v.role === 'leader'
        ? 'this node holds the leader address'
        : v.leader
          ? `following ${v.leader.nodeId} (${v.leader.mac})`
          : 'no holder heard yet';
    out.line(`\nSupervisor: pid ${v.pid}, ${holder}${v.term !== undefined ? `, term ${v.term}` : ''}`);
    if (v.rogues?.length) out.line(out.paint('red', `  rogue hosts answering for ${s.leaderAddress}: ${v.rogues.join(', ')}`));
    if (v.removed?.length) out.line(`  removed by membership upkeep: ${v.removed.join(', ')}`);
    if (v.promoted?.length) out.line(`  given a manager/server seat: ${v.promoted.join(', ')}`);
    const repair = v.swarmRepair;
    if (repair?.stuckState)
      out.line(
        out.paint('red', `  swarm node "${repair.stuckState}" since ${repair.stuckSince}: the supervisor re-joins it after its grace`),
      );
    if (repair?.lastRepair)
      out.line(
        `  last swarm re-join (${repair.lastRepair.at}): ${repair.lastRepair.ok ? repair.lastRepair.detail : `FAILED (${repair.lastRepair.detail})`} — ${repair.lastRepair.reason}`,
      );
  }
}
