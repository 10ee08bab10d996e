import type { Network } from '@cluster-lab/core';
import type { AddressOwner, AddressProber, ProbeOptions } from './address-prober.js';
import { ARP_PROBE_COUNT, ARP_PROBE_DEADLINE_MS, ARP_PROBE_INTERVAL_MS } from './arping-prober.js';
import { type CandidacyMessage, LINK_LOCAL_PREFIX, linkLocalAddressFor, normaliseMac } from './candidate.js';
import type { Clock } from './clock.js';
import { ElectionCodec, type ElectionSecurity } from './election-codec.js';
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
  /** Wall clock for message timestamps (signed messages); default `Date.now`. */
  wallClock?: () => number;
  /** Sees every datagram sent on the segment (a capture, e.g. to replay it later). */
  onDatagram?: (datagram: Buffer, from: string) => void;
}

/** One host attached to a {@link FakeSegment}. */
export interface FakeSegmentNode {
  /** The host's MAC on the segment. */
  readonly mac: string;
  readonly transport: ElectionTransport;
  readonly prober: AddressProber;
}

interface Listener {
  codec: ElectionCodec;
  deliver: (m: CandidacyMessage) => void;
}

interface Station {
  mac: string;
  link: string;
  network: Network;
  security: ElectionSecurity;
  listeners: Set<Listener>;
  /** Powered off or cable pulled: sends, receives and answers nothing. */
  down: boolean;
  /** Partition group; stations only reach stations of the same group. */
  group: number;
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
  readonly stats = { sent: 0, delivered: 0, lost: 0, probes: 0, announcements: 0 };

  constructor(options: FakeSegmentOptions) {
    this.options = options;
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
  }

  /**
   * Attaches a host whose interface `link` (in `network`) is on this segment. Its messages are
   * encoded and every receiver decodes them with its own codec, as over UDP: `security` (default
   * open) decides whether they are signed and which ones a receiver accepts.
   */
  attach(host: { mac: string; link: string; network: Network; security?: ElectionSecurity }): FakeSegmentNode {
    const station: Station = {
      mac: normaliseMac(host.mac),
      link: host.link,
      network: host.network,
      security: host.security ?? { mode: 'open' },
      listeners: new Set(),
      down: false,
      group: 0,
    };
    this.stations.push(station);
    return { mac: station.mac, transport: this.transportFor(station), prober: this.proberFor(station) };
  }

  /** MACs of the hosts that hold `address` on their segment link right now (powered-off hosts included). */
  async holders(address: string): Promise<string[]> {
    const result: string[] = [];
    for (const s of this.stations) {
      const addresses = await s.network.listAddresses(s.link);
      if (addresses.some((a) => a.local === address)) result.push(s.mac);
    }
    return result;
  }

  /**
   * Delivers a raw datagram, as if some host on the segment had sent it (a rogue, or a replay of
   * a captured message), to every listener reachable from `fromGroup`.
   */
  inject(datagram: Uint8Array, fromGroup = 0): void {
    const targets = this.stations.filter((s) => !s.down && s.group === fromGroup).flatMap((s) => [...s.listeners]);
    void this.clock.sleep(this.delay(this.options.udpDelayMs ?? [0, 5])).then(() => {
      for (const listener of targets) {
        const message = listener.codec.decode(datagram);
        if (message) listener.deliver(message);
      }
    });
  }

  /** Takes a host off the segment (power off, cable out) or puts it back. Its addresses stay as they are. */
  setDown(mac: string, down: boolean): void {
    this.station(mac).down = down;
  }

  /** Splits the segment: each list of MACs becomes a group that only reaches itself; hosts not listed stay in group 0. */
  partition(...groups: string[][]): void {
    for (const s of this.stations) s.group = 0;
    groups.forEach((macs, i) => {
      for (const mac of macs) this.station(mac).group = i + 1;
    });
  }

  /** Undoes {@link partition}. */
  heal(): void {
    for (const s of this.stations) s.group = 0;
  }

  private station(mac: string): Station {
    const station = this.stations.find((s) => s.mac === normaliseMac(mac));
    if (!station) throw new RangeError(`no host ${mac} on the segment`);
    return station;
  }

  private reaches(from: Station, to: Station): boolean {
    return !from.down && !to.down && from.group === to.group;
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
        const codec = new ElectionCodec(station.security, this.codecOptions());
        const listener: Listener = { codec, deliver: onMessage };
        station.listeners.add(listener);
        let closed = false;
        return {
          authenticated: codec.authenticated,
          stats: () => codec.stats(),
          send: async (message) => {
            if (closed || station.down) return;
            const datagram = codec.encode(message);
            this.options.onDatagram?.(datagram, station.mac);
            // A broadcast frame reaches every switch port at about the same time: one delay per
            // datagram, loss decided per receiver (one timer per send keeps simulations fast).
            const receivers: Listener[] = [];
            for (const receiver of this.stations) {
              if (!this.reaches(station, receiver)) continue;
              for (const l of receiver.listeners) {
                this.stats.sent++;
                if (this.random() < (this.options.udpLoss ?? 0)) this.stats.lost++;
                else receivers.push(l);
              }
            }
            if (receivers.length === 0) return;
            void this.clock.sleep(this.delay(this.options.udpDelayMs ?? [0, 5])).then(() => {
              for (const l of receivers) {
                const receiver = this.stations.find((s) => s.listeners.has(l));
                if (!receiver || !this.reaches(station, receiver)) continue;
                this.stats.delivered++;
                const decoded = l.codec.decode(datagram);
                if (decoded) l.deliver(decoded);
              }
            });
          },
          close: async () => {
            if (closed) return;
            closed = true;
            station.listeners.delete(listener);
            if (added) await station.network.delAddress(link, cidr);
          },
        };
      },
    };
  }

  /** Codecs run on the wall clock (message timestamps); a virtual clock's zero is not an epoch. */
  private codecOptions(): { now?: () => number } {
    return this.options.wallClock ? { now: this.options.wallClock } : {};
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
          for (const mac of await this.reachableHolders(station, address)) {
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
        this.stats.announcements++;
        await this.clock.sleep(this.options.announceMs ?? 100);
      },
    };
  }

  private async reachableHolders(from: Station, address: string): Promise<string[]> {
    if (from.down) return [];
    const result: string[] = [];
    for (const s of this.stations) {
      if (s !== from && !this.reaches(from, s)) continue;
      const addresses = await s.network.listAddresses(s.link);
      if (addresses.some((a) => a.local === address)) result.push(s.mac);
    }
    return result;
  }
}
