import type { Network } from '@cluster-lab/core';
import type { AddressOwner, AddressProber, ProbeOptions } from './address-prober.js';
import { ARP_PROBE_COUNT, ARP_PROBE_DEADLINE_MS, ARP_PROBE_INTERVAL_MS } from './arping-prober.js';
import { type CandidacyMessage, LINK_LOCAL_PREFIX, linkLocalAddressFor, normaliseMac } from './candidate.js';
import type { Clock } from './clock.js';
import type { ElectionChannel, ElectionTransport, ElectionTransportOpenOptions } from './election-transport.js';

/** Behaviour of a {@link FakeSegment}. Delays are uniform in `[min, max]` milliseconds. */
export interface FakeSegmentOptions {
  clock: Clock;
  /** Random source in [0, 1); pass a seeded one for reproducible runs. Default `Math.random`. */
  random?: () => number;
  /** Delivery delay of a candidacy datagram (the same for every receiver of one broadcast). Default `[0, 5]`. */
  udpDelayMs?: readonly [number, number];
  /** Probability that one datagram to one receiver is lost. Default 0. */
  udpLoss?: number;
  /** Delay of an ARP reply. Default `[0, 2]`. */
  arpDelayMs?: readonly [number, number];
  /** Probability that one ARP probe or its reply is lost. Default 0. */
  arpLoss?: number;
  /** Probes per {@link AddressProber.probe}, spacing and total duration; default the real prober's constants. */
  probeCount?: number;
  probeIntervalMs?: number;
  probeDurationMs?: number;
  /** Time {@link AddressProber.announce} takes. Default 100 (the real one waits up to 0.1 s). */
  announceMs?: number;
}

/** One host attached to a {@link FakeSegment}. */
export interface FakeSegmentNode {
  /** The host's MAC on the segment. */
  readonly mac: string;
  readonly transport: ElectionTransport;
  readonly prober: AddressProber;
}

interface Station {
  mac: string;
  link: string;
  network: Network;
  listeners: Set<(m: CandidacyMessage) => void>;
}

/**
 * An in-memory shared L2 segment for election tests: every attached host gets an
 * {@link ElectionTransport} (broadcast datagrams with random delay and loss) and an
 * {@link AddressProber} that answers from the hosts' {@link Network}s — a host "holds" an address
 * when its network has it on its link, so the election's real `addAddress`/`delAddress` calls
 * decide what ARP sees. All waiting goes through the given clock (use a {@link VirtualClock}).
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const segment = new FakeSegment({ clock, udpLoss: 0.1 });
 * const net = new InMemoryNetwork().withLink('eth0', { mac: '02:00:00:00:00:01' });
 * const { transport, prober } = segment.attach({ mac: '02:00:00:00:00:01', link: 'eth0', network: net });
 * ```
 */
export class FakeSegment {
  private readonly stations: Station[] = [];
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly options: FakeSegmentOptions;
  /** Datagrams sent and lost so far (per receiver). */
  readonly stats = { sent: 0, delivered: 0, lost: 0, probes: 0 };

  constructor(options: FakeSegmentOptions) {
    this.options = options;
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
  }

  /** Attaches a host whose interface `link` (in `network`) is on this segment. */
  attach(host: { mac: string; link: string; network: Network }): FakeSegmentNode {
    const station: Station = { mac: normaliseMac(host.mac), link: host.link, network: host.network, listeners: new Set() };
    this.stations.push(station);
    return { mac: station.mac, transport: this.transportFor(station), prober: this.proberFor(station) };
  }

  /** MACs of the hosts that hold `address` on their segment link right now. */
  async holders(address: string): Promise<string[]> {
    const result: string[] = [];
    for (const s of this.stations) {
      const addresses = await s.network.listAddresses(s.link);
      if (addresses.some((a) => a.local === address)) result.push(s.mac);
    }
    return result;
  }

  private delay([min, max]: readonly [number, number]): number {
    return min + this.random() * (max - min);
  }

  private transportFor(station: Station): ElectionTransport {
    return {
      open: async ({ link, mac, onMessage }: ElectionTransportOpenOptions): Promise<ElectionChannel> => {
        // Mirror the real transport's side effect so tests can check it is always undone.
        const cidr = `${linkLocalAddressFor(mac)}/${LINK_LOCAL_PREFIX}`;
        const added = await station.network.addAddress(link, cidr);
        station.listeners.add(onMessage);
        let closed = false;
        return {
          send: async (message) => {
            if (closed) return;
            // A broadcast frame reaches every switch port at about the same time: one delay per
            // datagram, loss decided per receiver (one timer per send keeps simulations fast).
            const receivers: ((m: CandidacyMessage) => void)[] = [];
            for (const receiver of this.stations) {
              for (const listener of receiver.listeners) {
                this.stats.sent++;
                if (this.random() < (this.options.udpLoss ?? 0)) this.stats.lost++;
                else receivers.push(listener);
              }
            }
            if (receivers.length === 0) return;
            void this.clock.sleep(this.delay(this.options.udpDelayMs ?? [0, 5])).then(() => {
              for (const listener of receivers) {
                if (!this.stations.some((s) => s.listeners.has(listener))) continue;
                this.stats.delivered++;
                listener({ ...message });
              }
            });
          },
          close: async () => {
            if (closed) return;
            closed = true;
            station.listeners.delete(onMessage);
            if (added) await station.network.delAddress(link, cidr);
          },
        };
      },
    };
  }

  private proberFor(station: Station): AddressProber {
    return {
      probe: async (address: string, _link: string, probeOptions: ProbeOptions = {}): Promise<AddressOwner[]> => {
        const count = this.options.probeCount ?? ARP_PROBE_COUNT;
        const spacing = this.options.probeIntervalMs ?? ARP_PROBE_INTERVAL_MS;
        const duration = this.options.probeDurationMs ?? ARP_PROBE_DEADLINE_MS;
        const start = this.clock.now();
        const owners = new Set<string>();
        let firstReplyAt = Number.POSITIVE_INFINITY;
        for (let i = 0; i < count; i++) {
          const sendAt = start + i * spacing;
          if (sendAt > start + duration || sendAt >= firstReplyAt) break;
          await this.clock.sleep(sendAt - this.clock.now());
          this.stats.probes++;
          // A holder answers according to its state when the probe arrives; the reply must arrive before the deadline.
          for (const mac of await this.holders(address)) {
            if (mac === station.mac || this.random() < (this.options.arpLoss ?? 0)) continue;
            const replyAt = sendAt + this.delay(this.options.arpDelayMs ?? [0, 2]);
            if (replyAt > start + duration) continue;
            owners.add(mac);
            firstReplyAt = Math.min(firstReplyAt, replyAt);
          }
          if (probeOptions.stopAtFirst && owners.size > 0) break;
        }
        const end = probeOptions.stopAtFirst && owners.size > 0 ? firstReplyAt : start + duration;
        await this.clock.sleep(end - this.clock.now());
        return [...owners].map((mac) => ({ mac }));
      },
      announce: async () => {
        await this.clock.sleep(this.options.announceMs ?? 100);
      },
    };
  }
}
