import { type EventSink, ignoreEvents, type Network } from '@cluster-lab/core';
import type { AddressOwner, AddressProber } from './address-prober.js';
import { type Candidate, compareCandidates, normaliseMac } from './candidate.js';
import { type Clock, systemClock } from './clock.js';

/** Options of {@link detectDuplicateLeader}. */
export interface DetectDuplicateLeaderOptions {
  link: string;
  /** This node's MAC on `link`. */
  mac: string;
  /** This node's election priority. */
  priority: number;
  leaderAddress: string;
  prober: AddressProber;
  /** Nodes whose priority is known (`ElectionResult.peers`). A holder not listed is treated as outranking us. */
  peers?: readonly Candidate[];
}

/** What {@link detectDuplicateLeader} found. */
export interface DuplicateLeaderVerdict {
  /** Some other host answers ARP for the leader address. */
  duplicate: boolean;
  /** Those hosts. */
  owners: AddressOwner[];
  /**
   * This node must give the address up: at least one other holder outranks it (higher priority,
   * or equal priority and lower MAC) or is unknown — RFC 5227 §2.4(a): a host that cannot be sure
   * it should win stops using the address. Exactly one of two holders that know each other yields.
   */
  shouldYield: boolean;
  /** The holders that made this node yield. */
  yieldTo: string[];
}

/**
 * Checks whether another host also holds the leader address (ARP probe) and whether this node,
 * as a holder, should yield it. Run it on the leader — from `cluster-lab health` or
 * {@link watchLeadership}.
 *
 * @example
 * ```ts
 * const v = await detectDuplicateLeader({ link: 'eth0.200', mac, priority: 100, leaderAddress: '192.168.200.1', prober, peers: result.peers });
 * if (v.shouldYield) console.log(`yield to ${v.yieldTo.join(', ')}`);
 * ```
 */
export async function detectDuplicateLeader(options: DetectDuplicateLeaderOptions): Promise<DuplicateLeaderVerdict> {
  const mac = normaliseMac(options.mac);
  const owners = (await options.prober.probe(options.leaderAddress, options.link)).filter((o) => o.mac !== mac);
  const known = new Map((options.peers ?? []).map((p) => [p.mac.toLowerCase(), p]));
  const self = { mac, priority: options.priority };
  const yieldTo = owners
    .map((o) => o.mac)
    .filter((other) => {
      const peer = known.get(other);
      return peer === undefined || compareCandidates(peer, self) < 0;
    });
  return { duplicate: owners.length > 0, owners, shouldYield: yieldTo.length > 0, yieldTo };
}

/** Interval between checks of {@link watchLeadership}: one ARP probe (~0.35 s) every 2 s keeps the link quiet. */
export const LEADERSHIP_CHECK_INTERVAL_MS = 2_000;

/** Why a {@link watchLeadership} ended with the node no longer leader. */
export interface LeadershipLoss {
  /** `duplicate`: another holder outranked us and we removed the address; `address-removed`: the address vanished from the link. */
  reason: 'duplicate' | 'address-removed';
  /** The other holders (for `duplicate`). */
  yieldTo: string[];
  /** Human summary, also emitted as a `warn` log event. */
  message: string;
}

/** Options of {@link watchLeadership}. */
export interface WatchLeadershipOptions extends DetectDuplicateLeaderOptions {
  /** Prefix length the address was added with. */
  prefix: number;
  /** Removes the address when yielding. */
  network: Network;
  /** Default {@link LEADERSHIP_CHECK_INTERVAL_MS}. */
  intervalMs?: number;
  onEvent?: EventSink;
  /** Called once when leadership is lost, before `done` resolves. */
  onYield?: (loss: LeadershipLoss) => void;
  clock?: Clock;
}

/** A running {@link watchLeadership}. */
export interface LeadershipWatch extends AsyncDisposable {
  /** Resolves with the loss when the node stopped being leader, or undefined after {@link LeadershipWatch.stop}. Never rejects. */
  readonly done: Promise<LeadershipLoss | undefined>;
  /** Stops watching (the address stays). */
  stop(): Promise<void>;
}

/**
 * Keeps watching a held leader address: every `intervalMs` it checks that the address is still
 * on the link and that no other host holds it. A duplicate holder that outranks us (or is
 * unknown) makes it yield cleanly: the address is removed, a `warn` event is emitted and `done`
 * resolves with a {@link LeadershipLoss} the boot flow handles (stop leader services, run the
 * election again). A lower-ranked duplicate is answered with a gratuitous ARP (RFC 5227 §2.4(b)
 * defence) — that holder's own watch makes it yield. Probe failures are reported and retried.
 *
 * @example
 * ```ts
 * await using watch = watchLeadership({ link, mac, priority, leaderAddress, prefix: 24, network, prober, peers: result.peers });
 * const loss = await watch.done;
 * if (loss) await becomeFollower();
 * ```
 */
export function watchLeadership(options: WatchLeadershipOptions): LeadershipWatch {
  const clock = options.clock ?? systemClock;
  const emit = options.onEvent ?? ignoreEvents;
  const interval = options.intervalMs ?? LEADERSHIP_CHECK_INTERVAL_MS;
  const cidr = `${options.leaderAddress}/${options.prefix}`;
  const stopper = new AbortController();
  const log = (level: 'debug' | 'info' | 'warn', message: string) => emit({ type: 'log', level, message, source: 'election' });

  const loop = async (): Promise<LeadershipLoss | undefined> => {
    while (!stopper.signal.aborted) {
      try {
        const held = (await options.network.listAddresses(options.link)).some((a) => a.cidr === cidr);
        if (!held)
          return lose({ reason: 'address-removed', yieldTo: [], message: `${cidr} is no longer on ${options.link}; not leader any more` });
        const verdict = await detectDuplicateLeader(options);
        if (verdict.shouldYield) {
          await options.network.delAddress(options.link, cidr);
          return lose({
            reason: 'duplicate',
            yieldTo: verdict.yieldTo,
            message: `${options.leaderAddress} is also held by ${verdict.yieldTo.join(', ')}, which outranks this node; yielded`,
          });
        }
        if (verdict.duplicate) {
          log('warn', `${options.leaderAddress} is also claimed by lower-ranked ${verdict.owners.map((o) => o.mac).join(', ')}; defending`);
          await options.prober.announce(options.leaderAddress, options.link);
        }
      } catch (error) {
        if (stopper.signal.aborted) break;
        log('warn', `leadership check failed: ${(error as Error).message}`);
      }
      try {
        await clock.sleep(interval, stopper.signal);
      } catch {
        break;
      }
    }
    return undefined;
  };

  const lose = (loss: LeadershipLoss): LeadershipLoss => {
    log('warn', loss.message);
    options.onYield?.(loss);
    return loss;
  };

  const done = loop();
  const stop = async () => {
    stopper.abort();
    await done;
  };
  return { done, stop, [Symbol.asyncDispose]: stop };
}
