import { assertInterfaceName, assertIpv4, describeError, type EventSink, ignoreEvents, type Network } from '@cluster-lab/core';
import type { AddressProber } from './address-prober.js';
import { type CandidacyMessage, type Candidate, compareCandidates, type MemberInfo, normaliseMac } from './candidate.js';
import { type Clock, systemClock } from './clock.js';
import { type ElectionResult, type ElectionRole, type ElectionTiming, electLeader } from './elect-leader.js';
import type { ElectionCodecStats } from './election-codec.js';
import type { ElectionTransport } from './election-transport.js';
import { openSharedChannel, type SharedChannel, sharedChannelTransport } from './election-transport.js';
import type { LeadershipLoss } from './watch-leadership.js';

/** The VIP holder broadcasts a `leader` heartbeat this often. */
export const HEARTBEAT_MS = 1_000;
/**
 * Default of `failover.leaderTimeout`: members start a failover election after this long without
 * a valid heartbeat (5 missed heartbeats; with the election's ~2 s and the DHCP server's start,
 * a lost leader is replaced in well under 10 s).
 */
export const DEFAULT_LEADER_TIMEOUT_MS = 5_000;
/** How often the loop looks at its timers (heartbeat due, leader silent). */
export const LEADERSHIP_TICK_MS = 250;
/** The VIP holder checks the address (still on the link? anybody else answering ARP?) this often. */
export const HOLDER_CHECK_MS = 2_000;
/** A member answers strangers' candidacies at most this often (they re-broadcast every 200 ms). */
export const ANSWER_MIN_INTERVAL_MS = 200;
/** Rogues and foreign nodes not heard from for this long are dropped from the state. */
export const FORGET_AFTER_MS = 600_000;

/** What the node does when it gains or loses the VIP. */
export interface LeadershipDuties {
  /**
   * This node won a failover election: the election has added the leader address (`result.claimed`);
   * start serving (DHCP server with the replicated leases) and record what was done so `stop`
   * undoes it. When it throws, the loop gives the address up again and stays a member.
   */
  take(result: ElectionResult): Promise<void>;
  /**
   * This node must stop being the VIP holder (a better-ranked authenticated holder, or the address
   * vanished from the link): stop serving and remove the address (and forget both in the journal).
   * Consul and Swarm stay untouched. The loop removes the address itself if it is still there after.
   */
  release(loss: LeadershipLoss): Promise<void>;
}

/** A host heard or seen on the cluster link, as the supervisor's status reports it. */
export interface SeenHost {
  mac: string;
  nodeId?: string;
  /** Epoch ms. */
  firstSeenAt: number;
  lastSeenAt: number;
}

/** What {@link LeadershipLoop.state} reports (written to the supervisor's status file, read by `health`). */
export interface LeadershipState {
  /** `leader`: this node holds the VIP; `member`: it follows the holder. */
  role: 'leader' | 'member';
  /** The current leadership term as this node knows it. */
  term: number;
  /** The VIP holder this node follows (or this node), and when its last valid heartbeat arrived (epoch ms). */
  leader?: {
    mac: string;
    nodeId: string;
    /**
     * The holder's own node address, from its authenticated heartbeat: besides the leader address,
     * the one server id a DHCP client may accept a lease from (dnsmasq answers from it).
     */
    nodeAddress?: string;
    lastHeartbeatAt?: number;
  };
  /** Every message is authenticated with the cluster secret (false with `security: open`). */
  authenticated: boolean;
  /** Hosts that sent authenticated `leader`/`claiming` messages: proven VIP holders. */
  provenLeaders: SeenHost[];
  /** Hosts answering ARP for the VIP without ever proving themselves: rogues. */
  rogues: SeenHost[];
  /** Members of another cluster heard on the same link (two clusters met). */
  foreignClusters: (SeenHost & { clusterId: string; nodeAddress?: string })[];
  /** Failover elections this loop ran, and the last one's outcome. */
  elections: number;
  lastElection?: { at: number; role: 'leader' | 'follower'; durationMs: number; rogues: string[] } | { at: number; error: string };
  /** The channel's accepted/dropped message counters. */
  messages: ElectionCodecStats;
}

/** Options of {@link startLeadershipLoop}. */
export interface LeadershipLoopOptions {
  link: string;
  mac: string;
  priority: number;
  /** `follower` never takes part in a failover; `leader` never yields; `auto` does both by rank. */
  role: ElectionRole;
  leaderAddress: string;
  prefix: number;
  nodeId: string;
  network: Network;
  transport: ElectionTransport;
  prober: AddressProber;
  /** This node's membership, asked for every message it sends (it changes: promotions, a cluster id learnt). */
  membership: () => MemberInfo;
  duties: LeadershipDuties;
  /** Leadership term this node knows (the holder's, from its journal); default 0. */
  term?: number;
  /** Default {@link DEFAULT_LEADER_TIMEOUT_MS} (`failover.leaderTimeout`). */
  leaderTimeoutMs?: number;
  /** Default {@link HEARTBEAT_MS}. */
  heartbeatMs?: number;
  /** Default {@link HOLDER_CHECK_MS}. */
  holderCheckMs?: number;
  /** Timing of the failover election (tests). */
  electionTiming?: Partial<ElectionTiming>;
  clock?: Clock;
  /** Epoch clock for the reported times; default `Date.now`. */
  wallClock?: () => number;
  random?: () => number;
  onEvent?: EventSink;
}

/** A running {@link startLeadershipLoop}. */
export interface LeadershipLoop extends AsyncDisposable {
  /** A snapshot of what the loop knows. */
  state(): LeadershipState;
  /** Stops the loop and closes the channel (the VIP and the duties stay as they are: `stop` undoes them from the journal). */
  stop(): Promise<void>;
}

/**
 * The supervisor's leadership loop, on every running node: keeps the node's link-local address
 * and the election channel open, and
 * - **as the VIP holder** broadcasts an authenticated `leader` heartbeat every {@link HEARTBEAT_MS};
 *   every {@link HOLDER_CHECK_MS} checks that the address is still on the link and whether anybody
 *   else answers ARP for it: a host that never sent an authenticated message is a *rogue* — the
 *   holder keeps the address and defends it with a gratuitous ARP; it yields only to a
 *   better-ranked holder whose authenticated heartbeat it hears *and* whom ARP shows holding the
 *   address (so a replayed heartbeat of a node that is gone changes nothing). Yielding calls
 *   `duties.release` — no restart, no leave: Consul and Swarm stay as they are.
 * - **as a member** tracks the holder's heartbeats; after `leaderTimeoutMs` without one, and when
 *   ARP finds the address free (or held only by rogues), it runs the same split-brain-safe
 *   election among members ({@link electLeader} with `membersOnly`); the winner calls `duties.take`.
 * - **always** answers a stranger's candidacy with its membership (cluster id, node address,
 *   Consul server, Swarm manager), so a booting node learns that a cluster exists and joins it,
 *   and records members of another cluster it hears (two clusters met).
 *
 * @example
 * ```ts
 * const loop = await startLeadershipLoop({ link, mac, priority, role: 'auto', leaderAddress, prefix: 24, nodeId,
 *   network, transport, prober, membership: () => ({ clusterId, nodeAddress }), duties });
 * process.once('SIGTERM', () => loop.stop());
 * ```
 */
export async function startLeadershipLoop(options: LeadershipLoopOptions): Promise<LeadershipLoop> {
  const loop = new Loop(options);
  await loop.open();
  return loop;
}

class Loop implements LeadershipLoop {
  private readonly o: LeadershipLoopOptions;
  private readonly mac: string;
  private readonly cidr: string;
  private readonly clock: Clock;
  private readonly wall: () => number;
  private readonly emit: EventSink;
  private readonly stopper = new AbortController();
  private shared: SharedChannel | undefined;
  private running: Promise<void> | undefined;
  private role: 'leader' | 'member' = 'member';
  private term: number;
  private leader: LeadershipState['leader'];
  /** Clock time of the last valid heartbeat (or of the last event that restarts the wait). */
  private lastHeartbeat: number;
  private lastSent = Number.NEGATIVE_INFINITY;
  private lastCheck = Number.NEGATIVE_INFINITY;
  private lastAnswer = Number.NEGATIVE_INFINITY;
  private readonly proven = new Map<string, SeenHost>();
  private readonly rogues = new Map<string, SeenHost>();
  private readonly foreign = new Map<string, SeenHost & { clusterId: string; nodeAddress?: string }>();
  private readonly peers = new Map<string, Candidate>();
  private elections = 0;
  private lastElection: LeadershipState['lastElection'];
  /** One leadership action at a time (yield, election, take, release). */
  private busy: Promise<void> = Promise.resolve();
  private acting = false;
  private silentHolderWarned = false;

  constructor(options: LeadershipLoopOptions) {
    assertInterfaceName(options.link, 'cluster link');
    assertIpv4(options.leaderAddress);
    this.o = options;
    this.mac = normaliseMac(options.mac);
    this.cidr = `${options.leaderAddress}/${options.prefix}`;
    this.clock = options.clock ?? systemClock;
    this.wall = options.wallClock ?? Date.now;
    this.emit = options.onEvent ?? ignoreEvents;
    this.term = options.term ?? 0;
    this.lastHeartbeat = this.clock.now();
  }

  async open(): Promise<void> {
    const { transport, link, network } = this.o;
    this.shared = await openSharedChannel(transport, { link, mac: this.mac });
    this.shared.listen((m) => this.onMessage(m));
    if ((await network.listAddresses(link)).some((a) => a.cidr === this.cidr)) {
      this.role = 'leader';
      this.leader = this.selfAsLeader();
      this.log('info', `holding ${this.o.leaderAddress}: heartbeats every ${this.heartbeatMs} ms (term ${this.term})`);
    } else {
      this.log(
        'info',
        this.o.role === 'follower'
          ? `member (role pinned to follower: never takes over ${this.o.leaderAddress})`
          : `member: watching the holder of ${this.o.leaderAddress} (failover after ${this.leaderTimeoutMs} ms of silence)`,
      );
    }
    if (!this.shared.authenticated)
      this.log('warn', 'election messages are not authenticated (security: open): any host on the cluster link can take the leader role');
    this.running = this.run();
  }

  state(): LeadershipState {
    const leader = this.leader
      ? {
          ...this.leader,
          ...(this.leader.mac === this.mac ? { lastHeartbeatAt: this.wall() } : {}),
        }
      : undefined;
    return {
      role: this.role,
      term: this.term,
      ...(leader ? { leader } : {}),
      authenticated: this.shared?.authenticated ?? false,
      provenLeaders: [...this.proven.values()].map((h) => ({ ...h })),
      rogues: [...this.rogues.values()].map((h) => ({ ...h })),
      foreignClusters: [...this.foreign.values()].map((h) => ({ ...h })),
      elections: this.elections,
      ...(this.lastElection ? { lastElection: { ...this.lastElection } } : {}),
      messages: this.shared?.stats() ?? { accepted: 0, rejected: {} as ElectionCodecStats['rejected'] },
    };
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.running;
    await this.busy;
    await this.shared?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private get heartbeatMs(): number {
    return this.o.heartbeatMs ?? HEARTBEAT_MS;
  }

  private get leaderTimeoutMs(): number {
    return this.o.leaderTimeoutMs ?? DEFAULT_LEADER_TIMEOUT_MS;
  }

  private self(): Candidate {
    const clusterId = this.o.membership().clusterId;
    return { nodeId: this.o.nodeId, mac: this.mac, priority: this.o.priority, ...(clusterId !== undefined ? { clusterId } : {}) };
  }

  private message(state: CandidacyMessage['state']): CandidacyMessage {
    return { ...this.o.membership(), ...this.self(), leaderAddress: this.o.leaderAddress, state, term: this.term };
  }

  private send(state: CandidacyMessage['state']): void {
    void this.shared?.send(this.message(state)).catch(() => {});
  }

  private async run(): Promise<void> {
    const tick = Math.min(LEADERSHIP_TICK_MS, this.heartbeatMs);
    while (!this.stopper.signal.aborted) {
      try {
        if (!this.acting) await this.step();
      } catch (error) {
        if (this.stopper.signal.aborted) break;
        this.log('warn', `leadership check failed: ${describeError(error)}`);
      }
      try {
        await this.clock.sleep(tick, this.stopper.signal);
      } catch {
        break;
      }
    }
  }

  private async step(): Promise<void> {
    const now = this.clock.now();
    this.forgetOld();
    if (this.role === 'leader') {
      if (now - this.lastSent >= this.heartbeatMs) {
        this.lastSent = now;
        this.send('leader');
      }
      if (now - this.lastCheck >= (this.o.holderCheckMs ?? HOLDER_CHECK_MS)) {
        this.lastCheck = now;
        await this.exclusive(() => this.checkHolding());
      }
      return;
    }
    if (this.o.role === 'follower' || now - this.lastHeartbeat < this.leaderTimeoutMs) return;
    await this.exclusive(() => this.failover());
  }

  /** The holder's periodic check: address still here; other ARP holders proven (rank decides) or rogues (defend). */
  private async checkHolding(): Promise<void> {
    if (this.role !== 'leader') return;
    const { network, prober, link, leaderAddress } = this.o;
    if (!(await network.listAddresses(link)).some((a) => a.cidr === this.cidr)) {
      await this.release({ reason: 'address-removed', yieldTo: [], message: `${this.cidr} is no longer on ${link}; not leader any more` });
      return;
    }
    const owners = (await prober.probe(leaderAddress, link)).filter((o) => o.mac !== this.mac);
    if (owners.length === 0) return;
    const rogues = owners.filter((o) => !this.proven.has(o.mac));
    for (const r of rogues) this.noteRogue(r.mac);
    const better = owners.filter((o) => {
      const peer = this.peers.get(o.mac);
      return this.proven.has(o.mac) && peer !== undefined && !this.isForeign(peer) && compareCandidates(peer, this.self()) < 0;
    });
    if (better.length > 0 && this.o.role !== 'leader') {
      const peer = this.peers.get(better[0]!.mac)!;
      await this.release({
        reason: 'duplicate',
        yieldTo: better.map((o) => o.mac),
        message: `${leaderAddress} is also held by ${peer.nodeId} (${peer.mac}), which outranks this node; yielding (Consul and Swarm stay)`,
      });
      this.follow(peer);
      return;
    }
    // Lower-ranked holders yield when they hear our heartbeat; rogues never do: keep the neighbours' caches on us.
    if (rogues.length > 0)
      this.log(
        'warn',
        `rogue host ${rogues.map((r) => r.mac).join(', ')} answers ARP for ${leaderAddress} without the cluster secret; keeping the address (gratuitous ARP)`,
      );
    this.send('leader');
    await prober.announce(leaderAddress, link);
  }

  /** A member whose leader went silent: probe, and elect among members when the address is free. */
  private async failover(): Promise<void> {
    if (this.role !== 'member' || this.clock.now() - this.lastHeartbeat < this.leaderTimeoutMs) return;
    const { prober, leaderAddress, link } = this.o;
    const owners = (await prober.probe(leaderAddress, link)).filter((o) => o.mac !== this.mac);
    const holders = owners.filter((o) => this.proven.has(o.mac) || !this.shared?.authenticated);
    for (const o of owners) if (!holders.includes(o)) this.noteRogue(o.mac);
    if (holders.length > 0) {
      // The address is held by a known holder that stopped heartbeating (its supervisor died?): not a failover.
      if (!this.silentHolderWarned)
        this.log(
          'warn',
          `no heartbeat from the holder of ${leaderAddress} for ${this.leaderTimeoutMs} ms, but ${holders.map((h) => h.mac).join(', ')} still answers ARP for it; not taking over`,
        );
      this.silentHolderWarned = true;
      this.lastHeartbeat = this.clock.now();
      return;
    }
    this.silentHolderWarned = false;
    const membership = this.o.membership();
    this.log(
      'warn',
      `no valid heartbeat for ${Math.round(this.clock.now() - this.lastHeartbeat)} ms and ${leaderAddress} is free${owners.length ? ` (only rogues answer: ${owners.map((o) => o.mac).join(', ')})` : ''}: electing a new holder among the members`,
    );
    this.elections++;
    const at = this.wall();
    const proposed = this.term + 1;
    let result: ElectionResult;
    try {
      result = await electLeader({
        link,
        mac: this.mac,
        leaderAddress,
        prefix: this.o.prefix,
        priority: this.o.priority,
        role: 'auto',
        network: this.o.network,
        transport: sharedChannelTransport(this.shared as SharedChannel),
        prober,
        nodeId: this.o.nodeId,
        signal: this.stopper.signal,
        onEvent: this.emit,
        clock: this.clock,
        ...(this.o.random ? { random: this.o.random } : {}),
        ...(this.o.electionTiming ? { timing: this.o.electionTiming } : {}),
        member: membership,
        term: proposed,
        // Without a cluster id (it is not known yet) this node counts as a stranger: then everyone takes part.
        membersOnly: membership.clusterId !== undefined,
        knownLeaders: this.proven.keys(),
      });
    } catch (error) {
      this.lastElection = { at, error: describeError(error) };
      this.lastHeartbeat = this.clock.now();
      if (!this.stopper.signal.aborted) this.log('warn', `failover election failed: ${describeError(error)}; trying again later`);
      return;
    }
    this.lastElection = { at, role: result.role, durationMs: result.durationMs, rogues: result.rogues };
    for (const mac of result.rogues) this.noteRogue(mac);
    // Heartbeats heard during the election may have raised the term already.
    this.term = Math.max(this.term, proposed, result.term);
    this.lastHeartbeat = this.clock.now();
    if (result.role === 'follower') {
      const peer = result.leaderMac ? this.peers.get(result.leaderMac) : undefined;
      this.leader = { mac: result.leaderMac ?? '', nodeId: peer?.nodeId ?? result.leaderMac ?? '' };
      return;
    }
    try {
      await this.o.duties.take(result);
    } catch (error) {
      this.log('warn', `could not take over the leader duties: ${describeError(error)}; giving ${leaderAddress} up again`);
      await this.removeAddress();
      return;
    }
    this.role = 'leader';
    this.leader = this.selfAsLeader();
    this.lastSent = Number.NEGATIVE_INFINITY;
    this.lastCheck = this.clock.now();
    this.log('info', `took over ${leaderAddress} (term ${this.term}) after ${result.durationMs} ms of election`);
    this.send('leader');
  }

  private onMessage(m: CandidacyMessage): void {
    if (m.leaderAddress !== this.o.leaderAddress || m.mac === this.mac) return;
    const now = this.wall();
    this.peers.set(m.mac, {
      nodeId: m.nodeId,
      mac: m.mac,
      priority: m.priority,
      ...(m.clusterId !== undefined ? { clusterId: m.clusterId } : {}),
    });
    if (m.state === 'leader' || m.state === 'claiming') {
      seen(this.proven, m.mac, m.nodeId, now);
      this.rogues.delete(m.mac);
    }
    const ours = this.o.membership().clusterId;
    if (ours !== undefined && m.clusterId !== undefined && m.clusterId !== ours) {
      const first = !this.foreign.has(m.mac);
      const entry = seen(this.foreign as Map<string, SeenHost>, m.mac, m.nodeId, now) as SeenHost & {
        clusterId: string;
        nodeAddress?: string;
      };
      entry.clusterId = m.clusterId;
      if (m.nodeAddress !== undefined) entry.nodeAddress = m.nodeAddress;
      if (first)
        this.log('warn', `${m.nodeId} (${m.mac}) belongs to another cluster (${m.clusterId}) on this link; this node is in ${ours}`);
    }
    if (m.term !== undefined && m.term > this.term && m.state === 'leader') this.term = m.term;
    if (m.state === 'leader') this.onHeartbeat(m);
    else if (m.clusterId === undefined && (m.state === 'candidate' || m.state === 'claiming')) this.answerStranger();
  }

  private onHeartbeat(m: CandidacyMessage): void {
    if (this.role === 'member') {
      this.lastHeartbeat = this.clock.now();
      this.leader = {
        mac: m.mac,
        nodeId: m.nodeId,
        ...(m.nodeAddress !== undefined ? { nodeAddress: m.nodeAddress } : {}),
        lastHeartbeatAt: this.wall(),
      };
      return;
    }
    const peer = this.peers.get(m.mac) as Candidate;
    // Never across clusters: the other holder's DHCP server does not know our leases (health says how to merge).
    if (compareCandidates(peer, this.self()) < 0 && this.o.role !== 'leader' && !this.isForeign(peer)) {
      void this.exclusive(() => this.yieldTo(peer));
    } else if (this.clock.now() - this.lastSent >= ANSWER_MIN_INTERVAL_MS) {
      // Make the lower-ranked holder hear us at once: it yields on our heartbeat.
      this.lastSent = this.clock.now();
      this.send('leader');
    }
  }

  /** Yields to `peer` — but only when ARP shows it holding the address (a replayed heartbeat proves nothing). */
  private async yieldTo(peer: Candidate): Promise<void> {
    if (this.role !== 'leader') return;
    const owners = await this.o.prober.probe(this.o.leaderAddress, this.o.link);
    if (!owners.some((o) => o.mac === peer.mac)) {
      this.log(
        'debug',
        `heard a better-ranked heartbeat from ${peer.nodeId} (${peer.mac}), but it does not hold ${this.o.leaderAddress}; keeping it`,
      );
      return;
    }
    await this.release({
      reason: 'duplicate',
      yieldTo: [peer.mac],
      message: `${this.o.leaderAddress} is also held by ${peer.nodeId} (${peer.mac}), which outranks this node; yielding (Consul and Swarm stay)`,
    });
    this.follow(peer);
  }

  private selfAsLeader(): NonNullable<LeadershipState['leader']> {
    const nodeAddress = this.o.membership().nodeAddress;
    return { mac: this.mac, nodeId: this.o.nodeId, ...(nodeAddress !== undefined ? { nodeAddress } : {}) };
  }

  /** A member of another cluster (both cluster ids known and different). */
  private isForeign(peer: Candidate): boolean {
    const ours = this.o.membership().clusterId;
    return ours !== undefined && peer.clusterId !== undefined && peer.clusterId !== ours;
  }

  private follow(peer: Candidate): void {
    this.leader = { mac: peer.mac, nodeId: peer.nodeId, lastHeartbeatAt: this.wall() };
    this.lastHeartbeat = this.clock.now();
  }

  private async release(loss: LeadershipLoss): Promise<void> {
    this.log('warn', loss.message);
    this.role = 'member';
    this.leader = undefined;
    this.lastHeartbeat = this.clock.now();
    try {
      await this.o.duties.release(loss);
    } catch (error) {
      this.log('warn', `releasing the leader duties failed: ${describeError(error)}`);
    }
    await this.removeAddress();
    this.send('follower');
  }

  private async removeAddress(): Promise<void> {
    const { network, link } = this.o;
    if ((await network.listAddresses(link)).some((a) => a.cidr === this.cidr)) await network.delAddress(link, this.cidr);
  }

  private answerStranger(): void {
    if (this.o.membership().clusterId === undefined || this.acting) return;
    const now = this.clock.now();
    if (now - this.lastAnswer < ANSWER_MIN_INTERVAL_MS) return;
    this.lastAnswer = now;
    this.send(this.role === 'leader' ? 'leader' : 'follower');
  }

  private noteRogue(mac: string): void {
    const first = !this.rogues.has(mac);
    seen(this.rogues, mac, undefined, this.wall());
    if (first) this.log('warn', `rogue: ${mac} answers ARP for ${this.o.leaderAddress} but never sent an authenticated message`);
  }

  private forgetOld(): void {
    const limit = this.wall() - FORGET_AFTER_MS;
    for (const map of [this.rogues, this.foreign, this.proven] as Map<string, SeenHost>[])
      for (const [mac, h] of map) if (h.lastSeenAt < limit) map.delete(mac);
  }

  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = async () => {
      if (this.stopper.signal.aborted) return;
      this.acting = true;
      try {
        await fn();
      } finally {
        this.acting = false;
      }
    };
    const next = this.busy.then(run, run);
    this.busy = next.catch((error: unknown) => {
      if (!this.stopper.signal.aborted) this.log('warn', `leadership action failed: ${describeError(error)}`);
    });
    return this.busy;
  }

  private log(level: 'debug' | 'info' | 'warn', message: string): void {
    this.emit({ type: 'log', level, message, source: 'election' });
  }
}

function seen(map: Map<string, SeenHost>, mac: string, nodeId: string | undefined, now: number): SeenHost {
  const entry = map.get(mac) ?? { mac, firstSeenAt: now, lastSeenAt: now };
  entry.lastSeenAt = now;
  if (nodeId !== undefined) entry.nodeId = nodeId;
  map.set(mac, entry);
  return entry;
}
