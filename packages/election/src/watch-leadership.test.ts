import { InMemoryNetwork, type ProgressEvent } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock.js';
import { electLeader } from './elect-leader.js';
import { FakeSegment } from './fake-segment.js';
import { detectDuplicateLeader, type LeadershipLoss, watchLeadership } from './watch-leadership.js';

const LEADER = '192.168.200.1';
const mac = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`;

function twoHolders() {
  const clock = new VirtualClock();
  const segment = new FakeSegment({ clock });
  const netA = new InMemoryNetwork().withLink('eth0', { mac: mac(1) });
  const netB = new InMemoryNetwork().withLink('eth0', { mac: mac(2) });
  const a = segment.attach({ mac: mac(1), link: 'eth0', network: netA });
  const b = segment.attach({ mac: mac(2), link: 'eth0', network: netB });
  return { clock, segment, netA, netB, a, b };
}

describe('detectDuplicateLeader', () => {
  it('reports no duplicate when only this node holds the address', async () => {
    const { clock, netA, a } = twoHolders();
    await netA.addAddress('eth0', `${LEADER}/24`);
    const verdict = await clock.run(
      detectDuplicateLeader({ link: 'eth0', mac: mac(1), priority: 100, leaderAddress: LEADER, prober: a.prober }),
    );
    expect(verdict).toEqual({ duplicate: false, owners: [], shouldYield: false, yieldTo: [] });
  });

  it('yields to a higher-priority holder, keeps against a lower-ranked known one, yields to an unknown one', async () => {
    const { clock, netA, netB, a, b } = twoHolders();
    await netA.addAddress('eth0', `${LEADER}/24`);
    await netB.addAddress('eth0', `${LEADER}/24`);
    const base = { link: 'eth0', mac: mac(2), priority: 100, leaderAddress: LEADER, prober: b.prober };
    expect(await clock.run(detectDuplicateLeader({ ...base, peers: [{ nodeId: 'a', mac: mac(1), priority: 200 }] }))).toEqual({
      duplicate: true,
      owners: [{ mac: mac(1) }],
      shouldYield: true,
      yieldTo: [mac(1)],
    });
    // Equal priority: the lower MAC (mac(1)) wins, so node B yields and node A keeps.
    expect((await clock.run(detectDuplicateLeader({ ...base, peers: [{ nodeId: 'a', mac: mac(1), priority: 100 }] }))).shouldYield).toBe(
      true,
    );
    const fromA = await clock.run(
      detectDuplicateLeader({
        link: 'eth0',
        mac: mac(1),
        priority: 100,
        leaderAddress: LEADER,
        prober: a.prober,
        peers: [{ nodeId: 'b', mac: mac(2), priority: 100 }],
      }),
    );
    expect(fromA).toMatchObject({ duplicate: true, shouldYield: false, yieldTo: [] });
    expect(await clock.run(detectDuplicateLeader({ ...base, priority: 255 }))).toMatchObject({
      duplicate: true,
      shouldYield: true,
      yieldTo: [mac(1)],
    });
  });
});

describe('watchLeadership', () => {
  it('yields cleanly when a higher-priority duplicate leader appears: removes the address, emits a warning, resolves done', async () => {
    const { clock, netA, netB, a, b } = twoHolders();
    await netB.addAddress('eth0', `${LEADER}/24`);
    const events: ProgressEvent[] = [];
    const yields: LeadershipLoss[] = [];
    const watch = watchLeadership({
      link: 'eth0',
      mac: mac(2),
      priority: 100,
      leaderAddress: LEADER,
      prefix: 24,
      network: netB,
      prober: b.prober,
      peers: [{ nodeId: 'a', mac: mac(1), priority: 200 }],
      clock,
      onEvent: (e) => events.push(e),
      onYield: (loss) => yields.push(loss),
    });
    // Node A appears with the same address 5 s later (e.g. a partition healed).
    void clock.sleep(5000).then(() => netA.addAddress('eth0', `${LEADER}/24`));
    const loss = await clock.run(watch.done);
    expect(loss).toEqual({
      reason: 'duplicate',
      yieldTo: [mac(1)],
      message: `${LEADER} is also held by ${mac(1)}, which outranks this node; yielded`,
    });
    expect(yields).toEqual([loss]);
    expect(await netB.listAddresses('eth0')).toEqual([]);
    expect(await netA.listAddresses('eth0')).toHaveLength(1);
    expect(events).toContainEqual({ type: 'log', level: 'warn', message: loss!.message, source: 'election' });
    expect(clock.now()).toBeGreaterThanOrEqual(5000);
    void a;
  });

  it('defends against a lower-ranked duplicate (gratuitous ARP) and keeps watching', async () => {
    const { clock, netA, netB, b } = twoHolders();
    await netA.addAddress('eth0', `${LEADER}/24`);
    await netB.addAddress('eth0', `${LEADER}/24`);
    const events: ProgressEvent[] = [];
    const watch = watchLeadership({
      link: 'eth0',
      mac: mac(2),
      priority: 200,
      leaderAddress: LEADER,
      prefix: 24,
      network: netB,
      prober: b.prober,
      peers: [{ nodeId: 'a', mac: mac(1), priority: 100 }],
      clock,
      onEvent: (e) => events.push(e),
    });
    void clock.sleep(4500).then(() => netA.delAddress('eth0', `${LEADER}/24`));
    void clock.sleep(9000).then(() => watch.stop());
    expect(await clock.run(watch.done)).toBeUndefined();
    expect(await netB.listAddresses('eth0')).toHaveLength(1);
    const defended = events.filter((e) => e.type === 'log' && e.level === 'warn' && e.message.endsWith('defending'));
    // Checks start at 0 s and ~2.45 s (probe 0.35 s + announce 0.1 s + 2 s pause) and see A; A leaves at 4.5 s, before the ~4.9 s check.
    expect(defended.length).toBe(2);
  });

  it('reports address-removed when the address vanished from the link', async () => {
    const { clock, netB, b } = twoHolders();
    await netB.addAddress('eth0', `${LEADER}/24`);
    const watch = watchLeadership({
      link: 'eth0',
      mac: mac(2),
      priority: 1,
      leaderAddress: LEADER,
      prefix: 24,
      network: netB,
      prober: b.prober,
      clock,
    });
    void clock.sleep(3000).then(() => netB.delAddress('eth0', `${LEADER}/24`));
    expect(await clock.run(watch.done)).toMatchObject({ reason: 'address-removed', yieldTo: [] });
  });

  it('resolves a split brain left by an election: exactly one of the two holders yields', async () => {
    const { clock, netA, netB, a, b } = twoHolders();
    const run = (net: InMemoryNetwork, m: string, deps: typeof a) =>
      electLeader({
        link: 'eth0',
        mac: m,
        leaderAddress: LEADER,
        prefix: 24,
        priority: 100,
        role: 'auto',
        network: net,
        transport: deps.transport,
        prober: deps.prober,
        clock,
      });
    const [ra, rb] = await clock.run(Promise.all([run(netA, mac(1), a), run(netB, mac(2), b)]));
    expect([ra.role, rb.role].sort()).toEqual(['follower', 'leader']);
    // Force a split brain after the election (e.g. an operator ran `ip addr add` on the follower).
    await netB.addAddress('eth0', `${LEADER}/24`);
    const watch = (net: InMemoryNetwork, m: string, deps: typeof a, peers: typeof ra.peers) =>
      watchLeadership({
        link: 'eth0',
        mac: m,
        priority: 100,
        leaderAddress: LEADER,
        prefix: 24,
        network: net,
        prober: deps.prober,
        peers,
        clock,
      });
    const wa = watch(netA, mac(1), a, ra.peers);
    const wb = watch(netB, mac(2), b, rb.peers);
    const lossB = await clock.run(wb.done);
    await clock.run(wa.stop());
    expect(lossB).toMatchObject({ reason: 'duplicate', yieldTo: [mac(1)] });
    expect(await clock.run(wa.done)).toBeUndefined();
    expect((await netA.listAddresses('eth0')).map((x) => x.local)).toEqual([LEADER]);
    expect(await netB.listAddresses('eth0')).toEqual([]);
  });
});
