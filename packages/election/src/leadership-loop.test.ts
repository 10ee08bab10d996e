import { deriveClusterKeys, generateSecret, InMemoryNetwork, type ProgressEvent } from '@cluster-lab/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { CandidacyMessage, MemberInfo } from './candidate.js';
import { VirtualClock } from './clock.js';
import { type ElectionResult, electLeader } from './elect-leader.js';
import type { ElectionSecurity } from './election-codec.js';
import { FakeSegment } from './fake-segment.js';
import { type LeadershipLoop, type LeadershipState, startLeadershipLoop } from './leadership-loop.js';
import type { LeadershipLoss } from './watch-leadership.js';

const LEADER = '192.168.200.1';
const CLUSTER = 'c0ffee00-0000-4000-8000-000000000001';
const secret: ElectionSecurity = { mode: 'secret', key: deriveClusterKeys(generateSecret()).electionKey };
const mac = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`;

interface TestNode {
  name: string;
  mac: string;
  network: InMemoryNetwork;
  loop: LeadershipLoop;
  taken: ElectionResult[];
  released: LeadershipLoss[];
  events: ProgressEvent[];
}

let loops: LeadershipLoop[] = [];
afterEach(async () => {
  loops = [];
});

async function world(options: { security?: ElectionSecurity } = {}) {
  const clock = new VirtualClock();
  const captured: Buffer[] = [];
  const segment = new FakeSegment({ clock, onDatagram: (d) => captured.push(d) });
  const security = options.security ?? secret;
  const nodes: TestNode[] = [];
  const add = async (
    n: number,
    extra: { holding?: boolean; priority?: number; member?: MemberInfo | null; role?: 'auto' | 'follower' } = {},
  ) => {
    const network = new InMemoryNetwork().withLink('eth0', { mac: mac(n) });
    if (extra.holding) await network.addAddress('eth0', `${LEADER}/24`);
    const attached = segment.attach({ mac: mac(n), link: 'eth0', network, security });
    const node = { name: `node${n}`, mac: mac(n), network, taken: [], released: [], events: [] } as unknown as TestNode;
    const membership: MemberInfo =
      extra.member === null ? {} : (extra.member ?? { clusterId: CLUSTER, nodeAddress: `192.168.200.${100 + n}` });
    node.loop = await clock.run(
      startLeadershipLoop({
        link: 'eth0',
        mac: mac(n),
        priority: extra.priority ?? 100,
        role: extra.role ?? 'auto',
        leaderAddress: LEADER,
        prefix: 24,
        nodeId: node.name,
        network,
        transport: attached.transport,
        prober: attached.prober,
        membership: () => membership,
        clock,
        random: () => 0.5,
        onEvent: (e) => node.events.push(e),
        duties: {
          take: async (result) => {
            node.taken.push(result);
          },
          release: async (loss) => {
            node.released.push(loss);
            await network.delAddress('eth0', `${LEADER}/24`);
          },
        },
      }),
    );
    loops.push(node.loop);
    nodes.push(node);
    return node;
  };
  const advance = (ms: number) => clock.run(clock.sleep(ms), ms + 60_000);
  const holders = () => segment.holders(LEADER);
  return { clock, segment, captured, nodes, add, advance, holders };
}

const roles = (nodes: TestNode[]) => nodes.map((n) => n.loop.state().role);

describe('startLeadershipLoop', () => {
  it('the VIP holder heartbeats; members track it and never elect while it lives', async () => {
    const w = await world();
    const a = await w.add(1, { holding: true });
    const b = await w.add(2);
    const c = await w.add(3);
    await w.advance(30_000);
    expect(roles(w.nodes)).toEqual(['leader', 'member', 'member']);
    expect(b.loop.state()).toMatchObject({
      leader: { mac: a.mac, nodeId: 'node1', nodeAddress: '192.168.200.101' },
      elections: 0,
      authenticated: true,
    });
    expect(c.loop.state().provenLeaders.map((h) => h.mac)).toEqual([a.mac]);
    expect(await w.holders()).toEqual([a.mac]);
  });

  it('leader powered off: a member takes the address over within 10 s, exactly one takes the duties', async () => {
    const w = await world();
    const a = await w.add(1, { holding: true });
    const b = await w.add(3);
    const c = await w.add(2);
    await w.advance(3_000);
    // Power off: processes gone (the loop stops without releasing), cable out.
    await a.loop.stop();
    w.segment.setDown(a.mac, true);
    const off = w.clock.now();
    let replacedAt: number | undefined;
    while (w.clock.now() - off < 20_000) {
      await w.advance(100);
      if (replacedAt === undefined && (b.taken.length || c.taken.length)) replacedAt = w.clock.now();
    }
    expect(replacedAt).toBeDefined();
    expect((replacedAt as number) - off).toBeLessThanOrEqual(10_000);
    // The lowest MAC among the members (node2) won; node3 follows it.
    expect(c.taken).toHaveLength(1);
    expect(b.taken).toHaveLength(0);
    expect(c.loop.state()).toMatchObject({ role: 'leader', term: 1 });
    expect(b.loop.state()).toMatchObject({ role: 'member', leader: { mac: c.mac } });
    expect((await w.holders()).filter((m) => m !== a.mac)).toEqual([c.mac]);
  });

  it('partition then heal: each side keeps or gets a holder; on heal the lower-ranked one yields without anything else', async () => {
    const w = await world();
    const a = await w.add(3, { holding: true });
    const b = await w.add(1);
    const c = await w.add(2);
    await w.advance(3_000);
    w.segment.partition([a.mac], [b.mac, c.mac]);
    await w.advance(15_000);
    // The majority side elected node1 (lowest MAC); the isolated holder kept the address on its side.
    expect(b.taken).toHaveLength(1);
    expect(roles(w.nodes)).toEqual(['leader', 'leader', 'member']);
    w.segment.heal();
    await w.advance(10_000);
    // node1 outranks node3: node3 yields (duties released, address gone), nobody took anything else.
    expect(a.released.map((l) => l.reason)).toEqual(['duplicate']);
    expect(b.released).toEqual([]);
    expect(roles(w.nodes)).toEqual(['member', 'leader', 'member']);
    expect(await w.holders()).toEqual([b.mac]);
    expect(a.loop.state().leader?.mac).toBe(b.mac);
  });

  it('a rogue ARP holder without the secret: the leader keeps the address, defends it and names the rogue; members do not fail over', async () => {
    const w = await world();
    const a = await w.add(2, { holding: true });
    const b = await w.add(3);
    await w.advance(2_000);
    const rogueNet = new InMemoryNetwork().withLink('eth0', { mac: mac(1) });
    await rogueNet.addAddress('eth0', `${LEADER}/24`);
    const rogue = w.segment.attach({ mac: mac(1), link: 'eth0', network: rogueNet });
    const channel = await w.clock.run(rogue.transport.open({ link: 'eth0', mac: mac(1), onMessage: () => {} }));
    const claim: CandidacyMessage = {
      leaderAddress: LEADER,
      nodeId: 'rogue',
      mac: mac(1),
      priority: 255,
      state: 'leader',
      term: 50,
      clusterId: CLUSTER,
    };
    const announcements = w.segment.stats.announcements;
    for (let i = 0; i < 40; i++) {
      await channel.send(claim);
      await w.advance(500);
    }
    expect(a.released).toEqual([]);
    expect(roles(w.nodes)).toEqual(['leader', 'member']);
    expect(a.loop.state().rogues.map((r) => r.mac)).toEqual([mac(1)]);
    expect(w.segment.stats.announcements).toBeGreaterThan(announcements + 5);
    expect(b.loop.state()).toMatchObject({ elections: 0, leader: { mac: a.mac } });
    // Every unsigned claim was dropped and counted.
    expect(b.loop.state().messages.rejected.unauthenticated).toBeGreaterThanOrEqual(40);
  });

  it('a replayed heartbeat of a better-ranked node that is gone does not make the leader yield', async () => {
    const w = await world();
    const old = await w.add(1, { holding: true });
    await w.advance(3_000);
    const heartbeats = w.captured.filter((d) => d.toString().includes('"state":"leader"'));
    await old.loop.stop();
    w.segment.setDown(old.mac, true);
    await old.network.delAddress('eth0', `${LEADER}/24`);
    // node5 only joins now: it never heard the originals, so its replay cache cannot catch them.
    const b = await w.add(5);
    await w.advance(12_000);
    expect(b.taken).toHaveLength(1);
    for (const d of heartbeats) w.segment.inject(d);
    await w.advance(5_000);
    expect(b.released).toEqual([]);
    expect(b.loop.state().role).toBe('leader');
    expect(await w.holders()).toEqual([b.mac]);
  });

  it('members answer a stranger: its election learns the members and follows the proven holder at once', async () => {
    const w = await world();
    const a = await w.add(2, { holding: true });
    await w.add(3);
    await w.advance(2_000);
    const net = new InMemoryNetwork().withLink('eth0', { mac: mac(1) });
    const stranger = w.segment.attach({ mac: mac(1), link: 'eth0', network: net, security: secret });
    const result = await w.clock.run(
      electLeader({
        link: 'eth0',
        mac: mac(1),
        leaderAddress: LEADER,
        prefix: 24,
        priority: 255,
        role: 'auto',
        network: net,
        transport: stranger.transport,
        prober: stranger.prober,
        clock: w.clock,
      }),
    );
    expect(result).toMatchObject({ role: 'follower', leaderMac: a.mac, rogues: [] });
    // At least the holder's own answer arrived before the proof ended the election.
    expect(result.members.map((m) => m.nodeAddress)).toContain('192.168.200.102');
    expect(result.members.every((m) => m.clusterId === CLUSTER)).toBe(true);
    expect(result.durationMs).toBeLessThan(1_500);
  });

  it('two clusters meet: each holder records the other cluster and neither yields across clusters', async () => {
    const w = await world();
    const a = await w.add(4, { holding: true });
    const d = await w.add(1, { holding: true, member: { clusterId: 'other-cluster', nodeAddress: '192.168.200.150' } });
    await w.advance(5_000);
    const state: LeadershipState = a.loop.state();
    expect(state.foreignClusters).toEqual([
      expect.objectContaining({ mac: mac(1), nodeId: 'node1', clusterId: 'other-cluster', nodeAddress: '192.168.200.150' }),
    ]);
    expect(d.loop.state().foreignClusters.map((f) => f.clusterId)).toEqual([CLUSTER]);
    expect(a.released).toEqual([]);
    expect(roles(w.nodes)).toEqual(['leader', 'leader']);
  });

  it('a holder that stopped heartbeating but still answers ARP is not replaced (no second holder)', async () => {
    const w = await world();
    const a = await w.add(1, { holding: true });
    const b = await w.add(2);
    await w.advance(3_000);
    await a.loop.stop(); // its supervisor died; the address and DHCP stay
    await w.advance(15_000);
    expect(b.taken).toEqual([]);
    expect(await w.holders()).toEqual([a.mac]);
    expect(b.events.some((e) => e.type === 'log' && /still answers ARP/.test(e.message))).toBe(true);
  });

  it('a pinned follower never takes over', async () => {
    const w = await world();
    const a = await w.add(1, { holding: true });
    const b = await w.add(2, { role: 'follower' });
    await w.advance(2_000);
    await a.loop.stop();
    w.segment.setDown(a.mac, true);
    await w.advance(20_000);
    expect(b.taken).toEqual([]);
    expect(b.loop.state().elections).toBe(0);
  });

  it('security: open warns, and every ARP holder counts (nothing can be proven)', async () => {
    const w = await world({ security: { mode: 'open' } });
    const a = await w.add(1, { holding: true });
    await w.advance(1_000);
    expect(a.loop.state().authenticated).toBe(false);
    expect(a.events.some((e) => e.type === 'log' && e.level === 'warn' && /not authenticated \(security: open\)/.test(e.message))).toBe(
      true,
    );
  });
});
