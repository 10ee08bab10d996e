import { setTimeout as sleep } from 'node:timers/promises';
import { type Check, type CheckResult, fail, pass, readPidFile, skip, warn } from '@cluster-lab/core';
import { ELECTION_REJECTIONS, type ElectionCodecStats, rejectedTotal } from '@cluster-lab/election';
import type { NodeFacts } from '../node-facts.js';
import { readSupervisorStatus, type SupervisorStatus } from '../supervise/supervisor-status.js';

/** Findings older than this (rogues, other clusters, dropped messages) no longer fail `health`. */
export const RECENT_MS = 60_000;
/** A status file older than this means the supervisor stopped reporting. */
export const STATUS_STALE_MS = 10_000;
/** How long `health` waits for a live supervisor's first leadership report (`health` right after `start`). */
export const FIRST_STATUS_WAIT_MS = 10_000;

/**
 * The supervisor's status; while its process lives but has not reported leadership yet (it has
 * just been started), waits up to {@link FIRST_STATUS_WAIT_MS} for the first report.
 */
async function firstLeadershipStatus(node: NodeFacts): Promise<SupervisorStatus | undefined> {
  const deadline = Date.now() + FIRST_STATUS_WAIT_MS;
  for (;;) {
    const status = await readSupervisorStatus(node);
    if (status?.leadership || Date.now() >= deadline || (await readPidFile(node.paths.supervisor.pidFile)) === undefined) return status;
    await sleep(250);
  }
}

/**
 * The `health` checks that read the supervisor's status file: leader heartbeats (or holding the
 * leader address), rogue ARP holders of the leader address, other clusters on the same link,
 * and election messages that were dropped. `running` is the journal's verdict (a node not
 * started skips them).
 */
export function leadershipChecks(node: NodeFacts, running: boolean, now: () => number = Date.now): Check[] {
  const { config } = node;
  const vip = config.leaderAddress;
  let first: Promise<SupervisorStatus | undefined> | undefined;
  const read = async (): Promise<SupervisorStatus | CheckResult> => {
    if (!running) return skip('node not started');
    first ??= firstLeadershipStatus(node);
    const status = await first;
    if (!status?.leadership) {
      return fail(
        'the supervisor reports no leadership state: nobody on this node watches the leader or takes over when it is lost',
        'run `cluster-lab start` again (it restarts the supervisor); see the supervisor log in the state dir',
      );
    }
    if (now() - status.updatedAt > STATUS_STALE_MS)
      return fail(
        `the supervisor's status is ${Math.round((now() - status.updatedAt) / 1000)} s old: it is not running`,
        'run `cluster-lab start` again (it restarts the supervisor)',
      );
    return status;
  };
  const recent = (at: number) => now() - at <= RECENT_MS;
  return [
    {
      id: 'leader-heartbeat',
      title: `leader heartbeats for ${vip}`,
      run: async () => {
        const status = await read();
        if (!('updatedAt' in status)) return status;
        const l = status.leadership as NonNullable<SupervisorStatus['leadership']>;
        if (l.role === 'leader') return pass(`this node holds ${vip} and sends heartbeats (term ${l.term})`);
        const timeoutMs = config.failover.leaderTimeout * 1000;
        const last = l.leader?.lastHeartbeatAt;
        if (last !== undefined && now() - last <= timeoutMs)
          return pass(`heartbeat from ${l.leader?.nodeId} (${l.leader?.mac}) ${((now() - last) / 1000).toFixed(1)} s ago (term ${l.term})`);
        return fail(
          last === undefined
            ? `no heartbeat from a holder of ${vip} yet`
            : `no heartbeat from ${l.leader?.nodeId} (${l.leader?.mac}) for ${Math.round((now() - last) / 1000)} s`,
          config.role === 'follower'
            ? 'this node is pinned to follower and never takes over: start (or fix) a node that may lead'
            : `the members elect a new holder after failover.leaderTimeout (${config.failover.leaderTimeout} s) once ${vip} is free; if the old holder still answers ARP, its supervisor died: run \`cluster-lab start\` there`,
        );
      },
    },
    {
      id: 'rogue-leader-address',
      title: `no rogue host answers for ${vip}`,
      run: async () => {
        const status = await read();
        if (!('updatedAt' in status)) return status;
        const l = status.leadership as NonNullable<SupervisorStatus['leadership']>;
        if (!l.authenticated) return skip('security: open — without the cluster secret a rogue cannot be told from a peer');
        const rogues = l.rogues.filter((r) => recent(r.lastSeenAt));
        if (rogues.length === 0) return pass('every host answering ARP for it proved itself with the cluster secret');
        return fail(
          `rogue host ${rogues.map((r) => r.mac).join(', ')} answers ARP for ${vip} but never sent an authenticated message (no cluster secret)${l.role === 'leader' ? '; this node keeps the address and defends it' : ''}`,
          `find the host with that MAC (the switch's MAC table, \`ip neigh show ${vip}\`) and take it off the cluster link; see docs/troubleshooting.md ("A rogue host answers for the leader address")`,
        );
      },
    },
    {
      id: 'one-cluster',
      title: 'no other cluster on the cluster link',
      run: async () => {
        const status = await read();
        if (!('updatedAt' in status)) return status;
        const l = status.leadership as NonNullable<SupervisorStatus['leadership']>;
        const foreign = l.foreignClusters.filter((f) => recent(f.lastSeenAt));
        if (foreign.length === 0) return pass('every member heard belongs to this cluster');
        const ids = [...new Set(foreign.map((f) => f.clusterId))];
        return fail(
          `${foreign.map((f) => `${f.nodeId ?? f.mac} (${f.mac}${f.nodeAddress ? `, ${f.nodeAddress}` : ''})`).join(', ')} belong${foreign.length === 1 ? 's' : ''} to another cluster (${ids.join(', ')}) on this link: two clusters formed while the nodes could not see each other`,
          `keep one cluster — the one with more nodes (then the older): on every node of the other cluster run \`cluster-lab stop --purge\`, then \`cluster-lab start\` one node at a time; they join the cluster that keeps running. The other cluster's Consul KV and swarm services are lost (docs/troubleshooting.md, "Two clusters on one link")`,
        );
      },
    },
    {
      id: 'election-messages',
      title: 'election messages authenticated',
      run: async () => {
        const status = await read();
        if (!('updatedAt' in status)) return status;
        const l = status.leadership as NonNullable<SupervisorStatus['leadership']>;
        if (!l.authenticated)
          return warn('security: open — election messages are not authenticated', 'set up a cluster secret (docs/security.md)');
        const m = l.messages;
        const dropped = rejectedTotal(m);
        const summary = `${m.accepted} accepted, ${dropped} dropped${dropped ? ` (${describeRejections(m)})` : ''}`;
        if (!m.lastRejected || !recent(m.lastRejected.at)) return pass(summary);
        return warn(
          `${summary}; the last one ${Math.round((now() - m.lastRejected.at) / 1000)} s ago: ${m.lastRejected.reason}${m.lastRejected.claimedFrom ? ` from a host calling itself ${m.lastRejected.claimedFrom}` : ''}`,
          rejectionHint(m.lastRejected.reason),
        );
      },
    },
  ];
}

function describeRejections(m: ElectionCodecStats): string {
  return ELECTION_REJECTIONS.filter((r) => m.rejected[r] > 0)
    .map((r) => `${m.rejected[r]} ${r}`)
    .join(', ');
}

function rejectionHint(reason: string): string {
  switch (reason) {
    case 'bad-mac':
      return 'a host with another cluster secret: compare `cluster-lab secret fingerprint` on every node and copy the right secret';
    case 'stale':
    case 'future':
      return "the nodes' clocks differ by more than 2 minutes: enable time sync (`timedatectl set-ntp true`)";
    case 'replay':
      return 'someone re-sends captured election messages on the cluster link; they are ignored';
    default:
      return 'a host without the cluster secret (or with security: open) talks on the cluster link; it cannot take part';
  }
}
