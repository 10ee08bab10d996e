import { assertInterfaceName, assertIpv4, ClusterLabError, type EventSink, ignoreEvents, type Network } from '@cluster-lab/core';
import type { AddressOwner, AddressProber } from './address-prober.js';
import {
  assertPriority,
  type CandidacyMessage,
  type Candidate,
  type CandidateState,
  compareCandidates,
  type MemberInfo,
  normaliseMac,
} from './candidate.js';
import { type Clock, systemClock } from './clock.js';
import type { ElectionChannel, ElectionTransport } from './election-transport.js';

/**
 * How long a candidate collects rivals before deciding. Nodes "booting in the same second" start
 * their windows at most ~1 s apart, but the window is not what keeps the result unique: the ARP
 * probe right before claiming and the ARP check right after it do (see docs/election.md). The
 * window only has to be long enough that simultaneous starters hear each other (5 broadcasts at
 * {@link CANDIDACY_RESEND_MS}, so up to 4 lost datagrams per pair are tolerated) and short enough to
 * keep a 3-node election well under 3 s.
 */
export const CANDIDACY_WINDOW_MS = 1_000;
/** Candidates re-broadcast their state this often (and at once on every change of state). */
export const CANDIDACY_RESEND_MS = 200;
/**
 * How long a node that deferred to a better candidate waits for that candidate's claim to become
 * visible over ARP before it runs the election again. A winner needs one ARP probe (≤ 350 ms) plus
 * `ip address add` to claim; 2.5 s leaves room for a busy node without stalling a crashed winner's
 * replacement for long.
 */
export const CLAIM_WAIT_MS = 2_500;
/** A deferred node re-probes this long after each probe while waiting for the claim. */
export const DEFER_POLL_MS = 50;
/**
 * Before a repeated round a node waits a random time in [0, this × 2^(round − 1)), capped at 8×:
 * RFC 5227's "randomised back-off", made exponential.
 * Two nodes that claimed together without hearing each other (lost datagrams) both yield; without
 * jitter they would collide again in lock-step, with it one claims first and the other's probe sees it.
 */
export const RERUN_BACKOFF_MS = 1_000;
/**
 * How long an ARP holder of the leader address gets to prove itself before the election treats
 * it as a rogue (authenticated channels only). Proof is an authenticated `claiming` or `leader`
 * message from the holder's MAC: a live VIP holder's supervisor heartbeats every second and
 * answers a candidate at once, so a real leader proves itself in milliseconds. The bound has to
 * cover a leader that is still booting — between its claim and its supervisor's first heartbeat
 * it sends nothing — which takes 2–5 s; a rogue costs candidates this long once per election.
 * See docs/election.md ("Rogue hosts") for what a rogue holder means for the address.
 */
export const HOLDER_PROOF_MS = 5_000;
/** Election rounds before giving up (a round only repeats when a winner vanished or a conflict was resolved by yielding). */
export const MAX_ELECTION_ROUNDS = 5;

/** Tunable timing of {@link electLeader}; every field defaults to the constant of the same meaning. */
export interface ElectionTiming {
  /** Default {@link CANDIDACY_WINDOW_MS}. */
  windowMs: number;
  /** Default {@link CANDIDACY_RESEND_MS}. */
  resendMs: number;
  /** Default {@link CLAIM_WAIT_MS}. */
  claimWaitMs: number;
  /** Default {@link DEFER_POLL_MS}. */
  deferPollMs: number;
  /** Default {@link MAX_ELECTION_ROUNDS}. */
  maxRounds: number;
  /** Default {@link RERUN_BACKOFF_MS}. */
  rerunBackoffMs: number;
  /** Default {@link HOLDER_PROOF_MS}. */
  holderProofMs: number;
}

/** `role` in the config: elect (`auto`) or pin the role. */
export type ElectionRole = 'auto' | 'leader' | 'follower';

/** Options of {@link electLeader}. */
export interface ElectLeaderOptions {
  /** The cluster link (e.g. `eth0.200`), already up. */
  link: string;
  /** MAC of `link`: identity in the tie-break (lowest wins among equal priorities). */
  mac: string;
  /** Address the leader holds, e.g. `192.168.200.1`. */
  leaderAddress: string;
  /** Prefix length to add it with, e.g. 24. */
  prefix: number;
  /** 0–255, higher wins. */
  priority: number;
  /** `auto` elects; `leader` claims without an election (refusing if another node holds the address); `follower` never claims. */
  role: ElectionRole;
  /** Adds/removes the leader address (acting in the node's namespace). */
  network: Network;
  transport: ElectionTransport;
  prober: AddressProber;
  /** Shown in rivals' logs. Default: the MAC. */
  nodeId?: string;
  /** Aborting rejects with `ELECTION_ABORTED` after undoing any claim. */
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Default {@link systemClock}; tests pass a {@link VirtualClock}. */
  clock?: Clock;
  timing?: Partial<ElectionTiming>;
  /** Random source in [0, 1) for the re-run back-off. Default `Math.random`; tests pass a seeded one. */
  random?: () => number;
  /** This node's membership, carried in its messages (a member ranks before strangers). Default: a stranger. */
  member?: MemberInfo;
  /** Leadership term to announce (the supervisor passes the highest term it heard + 1 on failover). Default 0. */
  term?: number;
  /**
   * Only members of a cluster take part (the supervisor's failover election): candidacies
   * without a `clusterId` are not counted. Default false (boot: anyone may take part).
   */
  membersOnly?: boolean;
  /**
   * MACs already proven to be authenticated VIP holders (the supervisor heard their heartbeats);
   * an ARP answer from one of them needs no new proof.
   */
  knownLeaders?: Iterable<string>;
}

/** Outcome of {@link electLeader}. */
export interface ElectionResult {
  role: 'leader' | 'follower';
  /**
   * True when this call added the leader address (the boot flow journals it so `stop` removes it).
   * A leader with `claimed: false` found the address already on its link (restart after a crash)
   * and kept it because no other host answered for it.
   */
  claimed: boolean;
  /** MAC of the node holding the leader address (this node's when leader; absent when a follower saw no leader yet). */
  leaderMac?: string;
  durationMs: number;
  /** Nodes that took part in the deciding round, this one included. */
  candidates: number;
  /** Rounds run (1 unless a winner vanished or a duplicate claim was resolved). */
  rounds: number;
  /** Every other node heard during the election; pass to {@link watchLeadership} so duplicate claims resolve by rank. */
  peers: Candidate[];
  /**
   * Members of a cluster heard during the election (answers to this node's candidacy, or
   * candidates that are members), with their own node addresses: a stranger that hears one
   * knows a cluster exists and where to join it instead of bootstrapping.
   */
  members: { nodeAddress: string; clusterId?: string }[];
  /**
   * Hosts that answered ARP for the leader address without ever proving themselves with an
   * authenticated message ({@link HOLDER_PROOF_MS}): rogues, ignored by the election. Empty
   * without a cluster secret (nothing can be proven then).
   */
  rogues: string[];
  /** The highest leadership term heard (or this node's own, when higher). */
  term: number;
}

interface Heard {
  message: CandidacyMessage;
  at: number;
}

type RoundOutcome = { kind: 'leader'; claimed: boolean } | { kind: 'follower'; leaderMac?: string } | { kind: 'rerun' };

/**
 * Elects exactly one leader among the nodes on a cluster link and, on the winner, adds the
 * leader address to the link. Every node runs it at boot; it resolves on each node with that
 * node's role.
 *
 * Protocol (`auto`): each node broadcasts its candidacy {priority, MAC} over `transport` for
 * {@link CANDIDACY_WINDOW_MS} while ARP-probing the leader address (an existing leader ends the
 * election at once). The best candidate heard — highest priority, then lowest MAC; a node already
 * announcing `leader` beats all — claims after a final ARP probe finds the address free, announces
 * it with gratuitous ARP and verifies with one more probe that nobody else holds it (a duplicate
 * is resolved by rank; the loser yields and re-runs). The others wait until ARP shows the winner's
 * claim (re-running the election if it never comes).
 *
 * @example
 * ```ts
 * const { transport, prober } = createRealElectionDeps({ runner, network, onEvent });
 * const result = await electLeader({
 *   link: 'eth0.200', mac: link.mac, leaderAddress: '192.168.200.1', prefix: 24,
 *   priority: config.cluster.priority, role: config.cluster.role, network, transport, prober, onEvent,
 * });
 * if (result.role === 'leader') startDhcpServer();
 * ```
 */
export async function electLeader(options: ElectLeaderOptions): Promise<ElectionResult> {
  return new Election(options).run();
}

class Election {
  private readonly o: ElectLeaderOptions;
  private readonly self: Candidate;
  private readonly cidr: string;
  private readonly clock: Clock;
  private readonly timing: ElectionTiming;
  private readonly emit: EventSink;
  private readonly start: number;
  private readonly heard = new Map<string, Heard>();
  private readonly known = new Map<string, Candidate>();
  private waiters: (() => void)[] = [];
  private state: CandidateState = 'candidate';
  private channel: ElectionChannel | undefined;
  private addedAddress = false;
  private rounds = 0;
  private roundStart = 0;
  /** MACs that sent an authenticated `claiming`/`leader` message: ARP answers from them are proven. */
  private readonly claimants = new Set<string>();
  /** Unproven ARP holders, with the time each was first seen. */
  private readonly suspects = new Map<string, number>();
  private readonly rogues = new Set<string>();
  /**
   * Candidates we deferred to that never showed up by ARP: a crashed winner, or messages replayed
   * from a node that is gone (a receiver that never heard the originals cannot tell). They no
   * longer count as candidates in this election unless ARP later shows them holding the address.
   */
  private readonly phantoms = new Set<string>();
  private readonly members = new Map<string, { nodeAddress: string; clusterId?: string }>();
  private termHeard = 0;

  constructor(options: ElectLeaderOptions) {
    assertInterfaceName(options.link, 'cluster link');
    assertIpv4(options.leaderAddress);
    assertPriority(options.priority);
    if (!Number.isInteger(options.prefix) || options.prefix < 1 || options.prefix > 32) {
      throw new ClusterLabError('INVALID_ARGUMENT', `prefix ${JSON.stringify(options.prefix)} must be a whole number between 1 and 32`, {
        hint: 'use the prefix length of the cluster subnet, e.g. 24',
        errorClass: 'config',
      });
    }
    if (!['auto', 'leader', 'follower'].includes(options.role)) {
      throw new ClusterLabError('INVALID_ARGUMENT', `role ${JSON.stringify(options.role)} must be one of auto, leader, follower`, {
        hint: 'set `role` in the config to auto (elect), leader or follower (pin)',
        errorClass: 'config',
      });
    }
    this.o = options;
    const mac = normaliseMac(options.mac);
    this.self = {
      nodeId: options.nodeId ?? mac,
      mac,
      priority: options.priority,
      ...(options.member?.clusterId !== undefined ? { clusterId: options.member.clusterId } : {}),
    };
    this.cidr = `${options.leaderAddress}/${options.prefix}`;
    this.clock = options.clock ?? systemClock;
    this.timing = {
      windowMs: CANDIDACY_WINDOW_MS,
      resendMs: CANDIDACY_RESEND_MS,
      claimWaitMs: CLAIM_WAIT_MS,
      deferPollMs: DEFER_POLL_MS,
      maxRounds: MAX_ELECTION_ROUNDS,
      rerunBackoffMs: RERUN_BACKOFF_MS,
      holderProofMs: HOLDER_PROOF_MS,
      ...options.timing,
    };
    for (const mac of options.knownLeaders ?? []) this.claimants.add(mac.toLowerCase());
    this.emit = options.onEvent ?? ignoreEvents;
    this.start = this.clock.now();
  }

  async run(): Promise<ElectionResult> {
    const { role, leaderAddress, link } = this.o;
    this.log(
      'info',
      `electing the holder of ${leaderAddress} on ${link} (role ${role}, priority ${this.self.priority}, MAC ${this.self.mac})`,
    );
    this.checkAborted();
    if (role === 'follower') {
      // A pinned follower takes no part: it only reports who leads, if anybody does yet.
      const owners = await this.o.prober.probe(leaderAddress, link, { stopAtFirst: true });
      return this.result({ kind: 'follower', ...leaderOf(owners) }, 1);
    }
    const stopSending = new AbortController();
    let outcome: RoundOutcome | undefined;
    try {
      // Open first: a leftover or contested address is judged by who proves itself on the channel.
      this.channel = await this.o.transport.open({ link, mac: this.self.mac, onMessage: (m) => this.onMessage(m) });
      void this.sendLoop(stopSending.signal);
      const resumed = await this.resume();
      if (resumed) {
        outcome = resumed;
        this.setState('leader');
        return this.result(outcome, 1);
      }
      outcome = role === 'leader' ? await this.claimPinned() : await this.elect();
      return this.result(outcome, this.candidatesInRound());
    } catch (error) {
      // Never leave a half-made claim behind: a caller that sees an error must not find the address on the link.
      if (this.addedAddress) await this.o.network.delAddress(link, this.cidr).catch(() => false);
      if (this.o.signal?.aborted && !(error instanceof ClusterLabError && error.code === 'ELECTION_ABORTED')) {
        throw new ClusterLabError('ELECTION_ABORTED', `leader election on ${link} was aborted`, {
          hint: 'run `cluster-lab start` again',
          cause: error,
        });
      }
      throw error;
    } finally {
      stopSending.abort();
      if (this.channel && outcome) {
        // Last word to the others (best effort), then leave the link as we found it.
        await this.channel.send(this.message()).catch(() => {});
      }
      await this.channel?.close();
    }
  }

  /**
   * A node restarted after a crash may still hold the leader address (its own ARP probes never
   * see it). Keep it when nobody else answers for it; otherwise drop our copy and elect normally,
   * which makes this node follow the other holder.
   */
  private async resume(): Promise<RoundOutcome | undefined> {
    const { network, link, leaderAddress } = this.o;
    const held = (await network.listAddresses(link)).find((a) => a.local === leaderAddress);
    if (!held) return undefined;
    const others = await this.settle(await this.probe(true), true);
    if (others.length === 0) {
      this.rounds = 1;
      this.log('info', `leader: ${leaderAddress} was already on ${link} and nobody else holds it; keeping it`);
      return { kind: 'leader', claimed: false };
    }
    this.log('warn', `${leaderAddress} is on ${link} but also held by ${others.map((o) => o.mac).join(', ')}; removing it here`);
    await network.delAddress(link, held.cidr); // whatever prefix it was added with
    return undefined;
  }

  private async elect(): Promise<RoundOutcome> {
    while (this.rounds < this.timing.maxRounds) {
      this.rounds++;
      const outcome = await this.round();
      if (outcome.kind !== 'rerun') return outcome;
      // Exponential, like Ethernet's: every further collision doubles the range (capped at 8×).
      const range = this.timing.rerunBackoffMs * 2 ** Math.min(this.rounds - 1, 3);
      const backoff = Math.floor((this.o.random ?? Math.random)() * range);
      this.log('info', `round ${this.rounds} ended without a leader; electing again in ${backoff} ms`);
      // Not `pause`: datagrams from rivals must not cut the back-off short.
      await this.clock.sleep(backoff, this.o.signal);
    }
    throw new ClusterLabError(
      'ELECTION_FAILED',
      `no leader for ${this.o.leaderAddress} on ${this.o.link} after ${this.timing.maxRounds} rounds`,
      {
        hint: `check that the nodes reach each other on ${this.o.link} (UDP broadcast, ARP) and that no other host holds ${this.o.leaderAddress}`,
      },
    );
  }

  private async round(): Promise<RoundOutcome> {
    this.roundStart = this.clock.now();
    this.setState('candidate');
    // Look for an existing leader while collecting rivals: a late joiner should not wait a whole window.
    let existing: AddressOwner[] | undefined;
    let probeError: unknown;
    const initialProbe = this.probe().then(
      (owners) => {
        existing = owners;
        this.wakeAll();
      },
      (error) => {
        probeError = error;
        this.wakeAll();
      },
    );
    const windowEnd = this.roundStart + this.timing.windowMs;
    const provenHolder = () => existing !== undefined && existing.length > 0 && this.classify(existing).proven.length > 0;
    while (this.clock.now() < windowEnd && probeError === undefined && !provenHolder() && !this.leaderHeard()) {
      await this.pause(windowEnd - this.clock.now());
    }
    await initialProbe;
    if (probeError !== undefined) throw probeError;
    if (existing?.length) {
      const proven = await this.settle(existing, false);
      if (proven.length) {
        this.log('info', `${this.o.leaderAddress} is already held by ${proven.map((o) => o.mac).join(', ')}; following`);
        return this.follow(proven);
      }
    }
    let best = this.best();
    if (best.mac !== this.self.mac) return this.defer(best);

    this.setState('claiming');
    this.log('debug', `best of ${this.candidatesInRound()} candidate(s); probing ${this.o.leaderAddress} before claiming`);
    const owners = await this.probe();
    if (owners.length) {
      const proven = await this.settle(owners, false);
      if (proven.length) return this.follow(proven);
    }
    best = this.best(); // a better candidate may have spoken up while we probed
    if (best.mac !== this.self.mac) return this.defer(best);
    return this.claim();
  }

  private async claim(): Promise<RoundOutcome> {
    const { network, prober, link, leaderAddress } = this.o;
    this.checkAborted();
    this.addedAddress = await network.addAddress(link, this.cidr);
    this.setState('leader');
    // Verify while announcing: the claim of a simultaneous winner (possible only when candidacy
    // datagrams were lost) overlaps this probe, because each of us probed right before claiming.
    const [owners] = await Promise.all([this.probe(true), prober.announce(leaderAddress, link)]);
    this.checkAborted();
    // An unproven ARP rival gets the proof time; one that stays unproven is a rogue and ignored.
    const proven = owners.length ? await this.settle(owners, true) : [];
    const rivals = new Set(proven.map((o) => o.mac));
    for (const [mac, h] of this.heard)
      if (h.at >= this.roundStart && h.message.state === 'leader' && !this.phantoms.has(mac)) rivals.add(mac);
    rivals.delete(this.self.mac);
    if (rivals.size === 0) {
      this.log('info', `leader: holding ${this.cidr} on ${link}`);
      return { kind: 'leader', claimed: this.addedAddress };
    }
    const yieldTo = [...rivals].filter((mac) => {
      const rival = this.known.get(mac);
      // An unknown holder (not heard in this election) may outrank us; RFC 5227 §2.4(a): stop using the
      // address. On an authenticated channel every proven rival has been heard, so this only applies open.
      return rival === undefined || compareCandidates(rival, this.self) < 0;
    });
    if (yieldTo.length === 0) {
      this.log('warn', `${leaderAddress} is also claimed by lower-ranked ${[...rivals].join(', ')}; keeping it (they yield)`);
      return { kind: 'leader', claimed: this.addedAddress };
    }
    this.log('warn', `${leaderAddress} is also claimed by ${yieldTo.join(', ')}; yielding`);
    await this.release();
    return { kind: 'rerun' };
  }

  private async claimPinned(): Promise<RoundOutcome> {
    const { link, leaderAddress, network, prober } = this.o;
    this.rounds = 1;
    this.roundStart = this.clock.now();
    // Announce "leader" from the start so auto nodes booting alongside defer instead of claiming.
    this.setState('leader');
    const owners = await this.settle(await this.probe(), false);
    if (owners.length) throw this.pinnedConflict(owners.map((o) => o.mac));
    this.addedAddress = await network.addAddress(link, this.cidr);
    const [others] = await Promise.all([this.probe(true), prober.announce(leaderAddress, link)]);
    const after = (await this.settle(others, true)).map((o) => o.mac);
    if (after.length) {
      await this.release();
      throw this.pinnedConflict(after);
    }
    this.log('info', `leader (pinned): holding ${this.cidr} on ${link}`);
    return { kind: 'leader', claimed: this.addedAddress };
  }

  private pinnedConflict(macs: string[]): ClusterLabError {
    return new ClusterLabError(
      'LEADER_ADDRESS_IN_USE',
      `role is pinned to leader, but ${this.o.leaderAddress} on ${this.o.link} is already held by ${macs.join(', ')}`,
      {
        hint: 'set `role: auto` (or follower) on all but one node, or give that host another address',
        errorClass: 'config',
      },
    );
  }

  private async release(): Promise<void> {
    if (this.addedAddress) await this.o.network.delAddress(this.o.link, this.cidr);
    this.addedAddress = false;
    this.setState('follower');
  }

  /** Waits (bounded) for `winner`, or whoever it deferred to, to claim the address. */
  private async defer(winner: Candidate): Promise<RoundOutcome> {
    this.setState('follower');
    this.log('info', `deferring to ${winner.nodeId} (priority ${winner.priority}, MAC ${winner.mac})`);
    const deadline = this.clock.now() + this.timing.claimWaitMs;
    while (this.clock.now() < deadline) {
      const owners = await this.probe();
      // Only a proven holder ends the wait; a rogue's answer does not (the winner's claim still comes).
      const { proven } = this.classify(owners);
      if (proven.length) return this.follow(proven);
      await this.pause(Math.min(this.timing.deferPollMs, deadline - this.clock.now()));
    }
    this.log(
      'warn',
      `${winner.nodeId} did not claim ${this.o.leaderAddress} within ${this.timing.claimWaitMs} ms; not counting it any more`,
    );
    this.phantoms.add(winner.mac);
    return { kind: 'rerun' };
  }

  private follow(owners: AddressOwner[]): RoundOutcome {
    this.setState('follower');
    const { leaderMac } = leaderOf(owners);
    this.log('info', `follower: ${this.o.leaderAddress} is held by ${leaderMac}`);
    return leaderMac === undefined ? { kind: 'follower' } : { kind: 'follower', leaderMac };
  }

  /** The best candidate of this round: a node already announcing `leader` first, then priority, then lowest MAC. */
  private best(): Candidate {
    let best: Candidate = this.self;
    let bestIsLeader = this.state === 'leader';
    for (const h of this.heard.values()) {
      if (h.at < this.roundStart || h.message.state === 'follower' || this.phantoms.has(h.message.mac)) continue;
      const isLeader = h.message.state === 'leader';
      if ((isLeader && !bestIsLeader) || (isLeader === bestIsLeader && compareCandidates(h.message, best) < 0)) {
        best = h.message;
        bestIsLeader = isLeader;
      }
    }
    return {
      nodeId: best.nodeId,
      mac: best.mac,
      priority: best.priority,
      ...(best.clusterId !== undefined ? { clusterId: best.clusterId } : {}),
    };
  }

  private leaderHeard(): boolean {
    for (const h of this.heard.values())
      if (h.at >= this.roundStart && h.message.state === 'leader' && !this.phantoms.has(h.message.mac)) return true;
    return false;
  }

  private candidatesInRound(): number {
    let n = 1;
    for (const h of this.heard.values()) if (h.at >= this.roundStart) n++;
    return n;
  }

  private onMessage(message: CandidacyMessage): void {
    if (message.leaderAddress !== this.o.leaderAddress || message.mac === this.self.mac) return;
    // Whoever sent it passed the channel's authentication (when there is one): its claims are proven.
    if (message.state === 'claiming' || message.state === 'leader') this.claimants.add(message.mac);
    if (message.nodeAddress !== undefined) {
      this.members.set(message.mac, {
        nodeAddress: message.nodeAddress,
        ...(message.clusterId !== undefined ? { clusterId: message.clusterId } : {}),
      });
    }
    this.termHeard = Math.max(this.termHeard, message.term ?? 0);
    this.wakeAll();
    // A failover election is among members: a stranger's candidacy does not count.
    if (this.o.membersOnly && message.clusterId === undefined) return;
    const first = !this.known.has(message.mac);
    this.heard.set(message.mac, { message, at: this.clock.now() });
    this.known.set(message.mac, {
      nodeId: message.nodeId,
      mac: message.mac,
      priority: message.priority,
      ...(message.clusterId !== undefined ? { clusterId: message.clusterId } : {}),
    });
    if (first)
      this.log(
        'debug',
        `heard ${message.nodeId} (${message.clusterId === undefined ? 'stranger' : 'member'}, priority ${message.priority}, MAC ${message.mac}, ${message.state})`,
      );
  }

  private message(): CandidacyMessage {
    return { ...this.o.member, ...this.self, leaderAddress: this.o.leaderAddress, state: this.state, term: this.o.term ?? 0 };
  }

  /**
   * Sorts ARP holders of the leader address into proven ones (they sent an authenticated
   * `claiming`/`leader` message) and pending ones (still within {@link HOLDER_PROOF_MS} of being
   * first seen); holders past that bound become rogues and are in neither list. Without an
   * authenticated channel every holder counts as proven (nothing can be checked).
   */
  private classify(owners: readonly AddressOwner[]): { proven: AddressOwner[]; pending: AddressOwner[] } {
    if (!this.channel?.authenticated) return { proven: [...owners], pending: [] };
    const now = this.clock.now();
    const proven: AddressOwner[] = [];
    const pending: AddressOwner[] = [];
    for (const owner of owners) {
      if (this.claimants.has(owner.mac)) {
        this.phantoms.delete(owner.mac);
        proven.push(owner);
        continue;
      }
      if (this.rogues.has(owner.mac)) continue;
      const first = this.suspects.get(owner.mac) ?? now;
      this.suspects.set(owner.mac, first);
      if (now - first >= this.timing.holderProofMs) {
        this.rogues.add(owner.mac);
        this.log(
          'warn',
          `${owner.mac} answers ARP for ${this.o.leaderAddress} but sent no authenticated message in ${this.timing.holderProofMs} ms: a rogue (no cluster secret); ignoring it`,
        );
        continue;
      }
      pending.push(owner);
    }
    return { proven, pending };
  }

  /**
   * Waits until the holders in `owners` are proven or known rogues — at most
   * {@link HOLDER_PROOF_MS} per holder — and returns the proven ones. With `all` unset it returns
   * as soon as one is proven (enough to follow it).
   */
  private async settle(owners: readonly AddressOwner[], all: boolean): Promise<AddressOwner[]> {
    for (;;) {
      const { proven, pending } = this.classify(owners);
      if (pending.length === 0 || (!all && proven.length > 0)) return proven;
      const now = this.clock.now();
      const wait = Math.min(...pending.map((o) => (this.suspects.get(o.mac) ?? now) + this.timing.holderProofMs - now));
      await this.pause(Math.max(1, wait));
    }
  }

  private setState(state: CandidateState): void {
    this.state = state;
    void this.channel?.send(this.message()).catch(() => {});
  }

  private async sendLoop(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      await this.channel?.send(this.message()).catch(() => {});
      try {
        await this.clock.sleep(this.timing.resendMs, stop);
      } catch {
        return;
      }
    }
  }

  /** ARP-probes the leader address; `all` lists every holder (verify), otherwise the first answer is enough. */
  private probe(all = false): Promise<AddressOwner[]> {
    this.checkAborted();
    // With an unproven holder around, the first answer may be its: hear everyone.
    const first = !all && this.suspects.size === 0 && this.rogues.size === 0;
    return this.o.prober
      .probe(this.o.leaderAddress, this.o.link, first ? { stopAtFirst: true } : {})
      .then((owners) => owners.filter((o) => o.mac !== this.self.mac));
  }

  /** Sleeps up to `ms`, returning early when a message arrives or a probe finishes. */
  private async pause(ms: number): Promise<void> {
    this.checkAborted();
    if (ms <= 0) return;
    const done = new AbortController();
    const signal = this.o.signal ? AbortSignal.any([done.signal, this.o.signal]) : done.signal;
    try {
      await Promise.race([this.clock.sleep(ms, signal).catch(() => {}), new Promise<void>((resolve) => this.waiters.push(resolve))]);
    } finally {
      done.abort();
    }
    this.checkAborted();
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private checkAborted(): void {
    if (this.o.signal?.aborted) {
      throw new ClusterLabError('ELECTION_ABORTED', `leader election on ${this.o.link} was aborted`, {
        hint: 'run `cluster-lab start` again',
      });
    }
  }

  private result(outcome: RoundOutcome, candidates: number): ElectionResult {
    if (outcome.kind === 'rerun') throw new Error('unreachable: rerun is not a result');
    const result: ElectionResult = {
      role: outcome.kind,
      claimed: outcome.kind === 'leader' ? outcome.claimed : false,
      durationMs: Math.round(this.clock.now() - this.start),
      candidates,
      rounds: Math.max(1, this.rounds),
      peers: [...this.known.values()],
      members: [...this.members.values()],
      rogues: [...this.rogues],
      term: Math.max(this.termHeard, this.o.term ?? 0),
    };
    const leaderMac = outcome.kind === 'leader' ? this.self.mac : outcome.leaderMac;
    if (leaderMac !== undefined) result.leaderMac = leaderMac;
    this.log('info', `${result.role} after ${result.durationMs} ms (${result.candidates} candidate(s), ${result.rounds} round(s))`);
    return result;
  }

  private log(level: 'debug' | 'info' | 'warn', message: string): void {
    this.emit({ type: 'log', level, message, source: 'election' });
  }
}

function leaderOf(owners: AddressOwner[]): { leaderMac?: string } {
  return owners[0] ? { leaderMac: owners[0].mac } : {};
}
