import { deriveClusterKeys, generateSecret } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab, type LabNode } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArpingProber } from './arping-prober.js';
import { addressesOn, bundleElectionNode, holdersOf, runRealElectionRound } from './real-election-round.js';
import { detectDuplicateLeader, watchLeadership } from './watch-leadership.js';

const LEADER = '192.168.200.1';
const electionKey = deriveClusterKeys(generateSecret()).electionKey.toString('hex');

describe.skipIf(skipUnlessRoot())('real election between 5 namespace nodes (UDP candidacy + arping)', () => {
  let lab: Lab;
  let nodes: readonly LabNode[];
  let bundle: { script: string; remove: () => Promise<void> };

  beforeAll(async () => {
    bundle = await bundleElectionNode();
    // Five machines on one switch, eth0 without an address: the cluster link before start.
    lab = await createLab({ name: 'election', nodes: 5, lan: false });
    nodes = lab.nodes;
  });

  afterAll(async () => {
    await lab?.destroy();
    await bundle?.remove();
  });

  it('elects exactly one leader in each of 20 rounds of simultaneous starts within one second', { timeout: 300_000 }, async () => {
    const leaders: string[] = [];
    for (let round = 1; round <= 20; round++) {
      // Random start offsets within the same second; equal priorities so the MAC decides.
      const offsetsMs = nodes.map(() => Math.floor(Math.random() * 1000));
      const reports = await runRealElectionRound(nodes, { script: bundle.script, leaderAddress: LEADER, prefix: 24, offsetsMs });
      const context = `round ${round}: ${JSON.stringify(reports.map((r) => ({ node: r.nodeId, result: r.result, error: r.error, late: r.lateMs })))}`;
      expect(
        reports.filter((r) => r.error),
        context,
      ).toEqual([]);
      const claimed = reports.filter((r) => r.result?.role === 'leader');
      expect(claimed.length, context).toBe(1);
      const leader = claimed[0]!;
      // The address itself, as each node's `ip -j addr` shows it: exactly on the elected node.
      expect(await holdersOf(nodes, LEADER), context).toEqual([leader.nodeId]);
      expect(await addressesOn(nodes), context).toEqual([`${leader.nodeId}:${LEADER}/24`]);
      // Everyone agrees on who leads, and the lowest MAC won (equal priorities).
      for (const r of reports) expect(r.result?.leaderMac, context).toBe(leader.mac);
      expect(leader.mac, context).toBe(nodes.map((n) => n.mac).sort()[0]);
      leaders.push(leader.nodeId);
      // Clean up for the next round: the leader gives the address back.
      const node = nodes.find((n) => n.name === leader.nodeId)!;
      expect(await node.ip.delAddress('eth0', `${LEADER}/24`)).toBe(true);
      expect(await addressesOn(nodes)).toEqual([]);
    }
    expect(leaders).toHaveLength(20);
  });

  it('honours priority: the highest-priority node wins even with the highest MAC', async () => {
    const byMac = [...nodes].sort((a, b) => (a.mac < b.mac ? 1 : -1));
    const top = byMac[0]!; // highest MAC
    const priorities = nodes.map((n) => (n === top ? 200 : 100));
    const reports = await runRealElectionRound(nodes, {
      script: bundle.script,
      leaderAddress: LEADER,
      prefix: 24,
      offsetsMs: [0, 0, 0, 0, 0],
      priorities,
    });
    try {
      expect(reports.filter((r) => r.result?.role === 'leader').map((r) => r.nodeId)).toEqual([top.name]);
      expect(await holdersOf(nodes, LEADER)).toEqual([top.name]);
    } finally {
      await top.ip.delAddress('eth0', `${LEADER}/24`);
    }
  });

  it('watchLeadership on a real node yields when a higher-priority holder appears', async () => {
    const [n1, n2] = nodes as [LabNode, LabNode];
    await n2.ip.addAddress('eth0', `${LEADER}/24`);
    try {
      const watch = watchLeadership({
        link: 'eth0',
        mac: n2.mac,
        priority: 100,
        leaderAddress: LEADER,
        prefix: 24,
        network: n2.ip,
        prober: new ArpingProber({ runner: n2.runner }),
        peers: [{ nodeId: n1.name, mac: n1.mac, priority: 200 }],
        intervalMs: 200,
      });
      // A higher-priority node takes the address too (e.g. after a healed partition).
      await n1.ip.addAddress('eth0', `${LEADER}/24`);
      const loss = await watch.done;
      expect(loss).toMatchObject({ reason: 'duplicate', yieldTo: [n1.mac] });
      expect(await holdersOf(nodes, LEADER)).toEqual([n1.name]);
    } finally {
      await n1.ip.delAddress('eth0', `${LEADER}/24`);
      await n2.ip.delAddress('eth0', `${LEADER}/24`);
    }
  });

  it('a late joiner follows the existing leader; a pinned leader refuses; the real prober sees a duplicate', async () => {
    const [n1, n2] = nodes as [LabNode, LabNode];
    await n1.ip.addAddress('eth0', `${LEADER}/24`);
    try {
      const reports = await runRealElectionRound(nodes, {
        script: bundle.script,
        leaderAddress: LEADER,
        prefix: 24,
        offsetsMs: [0, 0, 0, 0, 0],
        priorities: [0, 255, 255, 255, 255],
        roles: ['follower', 'auto', 'leader', 'auto', 'auto'],
      });
      expect(reports[1]!.result).toMatchObject({ role: 'follower', leaderMac: n1.mac, claimed: false });
      expect(reports[2]!.error).toMatchObject({ code: 'LEADER_ADDRESS_IN_USE' });
      expect(await holdersOf(nodes, LEADER)).toEqual([n1.name]);
      // Duplicate detection with the real arping: node2 also takes the address.
      await n2.ip.addAddress('eth0', `${LEADER}/24`);
      const verdict = await detectDuplicateLeader({
        link: 'eth0',
        mac: n2.mac,
        priority: 100,
        leaderAddress: LEADER,
        prober: new ArpingProber({ runner: n2.runner }),
        peers: [{ nodeId: n1.name, mac: n1.mac, priority: 200 }],
      });
      expect(verdict).toEqual({ duplicate: true, owners: [{ mac: n1.mac }], shouldYield: true, yieldTo: [n1.mac] });
      // And a gratuitous ARP from the real prober is accepted by arping.
      await new ArpingProber({ runner: n2.runner }).announce(LEADER, 'eth0');
    } finally {
      await n1.ip.delAddress('eth0', `${LEADER}/24`);
      await n2.ip.delAddress('eth0', `${LEADER}/24`);
    }
    expect(await addressesOn(nodes)).toEqual([]);
  });

  it('with a cluster secret (signed candidacy): 5 rounds of simultaneous starts elect exactly one leader', {
    timeout: 120_000,
  }, async () => {
    for (let round = 1; round <= 5; round++) {
      const offsetsMs = nodes.map(() => Math.floor(Math.random() * 1000));
      const reports = await runRealElectionRound(nodes, {
        script: bundle.script,
        leaderAddress: LEADER,
        prefix: 24,
        offsetsMs,
        electionKey,
      });
      const context = `round ${round}: ${JSON.stringify(reports.map((r) => ({ node: r.nodeId, result: r.result, error: r.error })))}`;
      expect(
        reports.filter((r) => r.error),
        context,
      ).toEqual([]);
      const leaders = reports.filter((r) => r.result?.role === 'leader');
      expect(leaders.length, context).toBe(1);
      expect(leaders[0]?.mac, context).toBe(nodes.map((n) => n.mac).sort()[0]);
      for (const r of reports) expect(r.result?.rogues, context).toEqual([]);
      const node = nodes.find((n) => n.name === leaders[0]?.nodeId) as LabNode;
      expect(await node.ip.delAddress('eth0', `${LEADER}/24`)).toBe(true);
    }
  });

  it('a rogue host holding the leader address without the secret does not take the role: the nodes elect one of their own', {
    timeout: 60_000,
  }, async () => {
    // The rogue: the lowest MAC of all, holding the address (its kernel answers ARP), never sending a signed message.
    const sorted = [...nodes].sort((a, b) => (a.mac < b.mac ? -1 : 1));
    const rogue = sorted[0] as LabNode;
    const honest = nodes.filter((n) => n !== rogue);
    await rogue.ip.addAddress('eth0', `${LEADER}/24`);
    try {
      const reports = await runRealElectionRound(honest, {
        script: bundle.script,
        leaderAddress: LEADER,
        prefix: 24,
        offsetsMs: honest.map(() => 0),
        electionKey,
      });
      const context = JSON.stringify(reports.map((r) => ({ node: r.nodeId, result: r.result, error: r.error })));
      expect(
        reports.filter((r) => r.error),
        context,
      ).toEqual([]);
      const leaders = reports.filter((r) => r.result?.role === 'leader');
      expect(
        leaders.map((l) => l.mac),
        context,
      ).toEqual([sorted[1]?.mac]);
      expect(leaders[0]?.result?.rogues, context).toEqual([rogue.mac]);
      for (const r of reports) expect(r.result?.leaderMac, context).toBe(sorted[1]?.mac);
      expect((await holdersOf(nodes, LEADER)).sort(), context).toEqual([rogue.name, sorted[1]?.name].sort());
    } finally {
      for (const n of nodes) await n.ip.delAddress('eth0', `${LEADER}/24`).catch(() => false);
    }
    expect(await addressesOn(nodes)).toEqual([]);
  });
});
