/**
 * Helpers shared by the election's unit tests (not exported from the package).
 * @internal
 */
import { InMemoryNetwork } from '@cluster-lab/core';
import type { MemberInfo } from './candidate.js';
import { compareCandidates } from './candidate.js';
import { VirtualClock } from './clock.js';
import { type ElectionResult, type ElectionRole, electLeader } from './elect-leader.js';
import type { ElectionSecurity } from './election-codec.js';
import { FakeSegment, type FakeSegmentOptions } from './fake-segment.js';

export const LEADER = '192.168.200.1';

/** Small, fast, seedable PRNG (mulberry32) so a failing property case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomMac(random: () => number): string {
  const bytes = [0x02, ...Array.from({ length: 5 }, () => Math.floor(random() * 256))];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export interface SimNode {
  mac: string;
  priority: number;
  role?: ElectionRole;
  /** Start time in simulated ms. */
  startAt: number;
  member?: MemberInfo;
  membersOnly?: boolean;
}

/** Extra setup of {@link simulateElection}. */
export interface SimExtras {
  /** Message authentication of every node (default open). */
  security?: ElectionSecurity;
  /** Runs before the nodes start (attach a rogue, …). */
  setup?: (segment: FakeSegment, clock: VirtualClock) => void | Promise<void>;
}

export interface SimOutcome {
  results: (ElectionResult | Error)[];
  holders: string[];
  leftovers: string[];
  segment: FakeSegment;
  clock: VirtualClock;
  networks: InMemoryNetwork[];
}

/** Runs one simulated election of `nodes` on a fresh fake segment; errors are returned in place of results. */
export async function simulateElection(
  nodes: SimNode[],
  segmentOptions: Omit<FakeSegmentOptions, 'clock'> = {},
  extras: SimExtras = {},
): Promise<SimOutcome> {
  const clock = new VirtualClock();
  const segment = new FakeSegment({ clock, ...segmentOptions });
  await extras.setup?.(segment, clock);
  const networks = nodes.map((n) => new InMemoryNetwork().withLink('eth0', { mac: n.mac }));
  const runs = nodes.map(async (n, i) => {
    const network = networks[i]!;
    const { transport, prober } = segment.attach({
      mac: n.mac,
      link: 'eth0',
      network,
      ...(extras.security ? { security: extras.security } : {}),
    });
    await clock.sleep(n.startAt);
    try {
      return await electLeader({
        link: 'eth0',
        mac: n.mac,
        leaderAddress: LEADER,
        prefix: 24,
        priority: n.priority,
        role: n.role ?? 'auto',
        network,
        transport,
        prober,
        nodeId: `node${i + 1}`,
        clock,
        random: segmentOptions.random ?? Math.random,
        ...(n.member ? { member: n.member } : {}),
        ...(n.membersOnly ? { membersOnly: true } : {}),
      });
    } catch (error) {
      return error as Error;
    }
  });
  const results = await clock.run(Promise.all(runs));
  const holders = await segment.holders(LEADER);
  const leftovers: string[] = [];
  for (const net of networks) for (const a of await net.listAddresses()) if (a.local !== LEADER) leftovers.push(a.cidr);
  return { results, holders, leftovers, segment, clock, networks };
}

/** The node that should win among `nodes` (highest priority, then lowest MAC). */
export function bestOf(nodes: SimNode[]): SimNode {
  return [...nodes].sort((a, b) =>
    compareCandidates({ ...a, clusterId: a.member?.clusterId }, { ...b, clusterId: b.member?.clusterId }),
  )[0]!;
}
