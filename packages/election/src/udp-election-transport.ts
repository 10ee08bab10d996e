import dgram from 'node:dgram';
import { ClusterLabError, type EventSink, ignoreEvents, type Network } from '@cluster-lab/core';
import { type CandidacyMessage, LINK_LOCAL_BROADCAST, LINK_LOCAL_PREFIX, linkLocalAddressFor } from './candidate.js';
import { ElectionCodec, type ElectionSecurity } from './election-codec.js';
import type { ElectionChannel, ElectionTransport, ElectionTransportOpenOptions } from './election-transport.js';

/** UDP port of the candidacy exchange (unassigned by IANA, below Linux's ephemeral range 32768–60999). */
export const ELECTION_UDP_PORT = 27_200;

/** Options for {@link UdpElectionTransport}. */
export interface UdpElectionTransportOptions {
  /** Adds and removes the temporary link-local address (acts in the node's namespace). */
  network: Network;
  /** Default {@link ELECTION_UDP_PORT}. */
  port?: number;
  /**
   * Signs and verifies messages with the cluster secret (`{ mode: 'secret', key }`), or sends
   * them unsigned (`{ mode: 'open' }`, the default — only for `security: open`).
   */
  security?: ElectionSecurity;
  onEvent?: EventSink;
}

/**
 * The real {@link ElectionTransport}: UDP broadcast on the cluster link. {@link UdpElectionTransport.open} gives the
 * link a temporary IPv4 link-local address derived from the MAC ({@link linkLocalAddressFor},
 * RFC 3927) — the cluster link has no address yet at boot, and the leader address must not be
 * used before the election is over — then sends from that address to 169.254.255.255 and receives
 * on a socket bound to that broadcast address, so nothing arrives from other links.
 * `close()` removes the address again, but only if `open()` added it. With a cluster secret
 * (`security`) every datagram is signed and every received one verified ({@link ElectionCodec}):
 * unsigned, forged, stale and replayed datagrams never reach `onMessage`.
 *
 * The process must run in the node's network namespace (sockets belong to the namespace of the
 * process that opens them).
 *
 * @example
 * ```ts
 * const transport = new UdpElectionTransport({ network: new IpRoute2(runner) });
 * const channel = await transport.open({ link: 'eth0.200', mac, onMessage: (m) => console.log(m) });
 * try { await channel.send(message); } finally { await channel.close(); }
 * ```
 */
export class UdpElectionTransport implements ElectionTransport {
  private readonly network: Network;
  private readonly port: number;
  private readonly onEvent: EventSink;
  private readonly security: ElectionSecurity;

  constructor(options: UdpElectionTransportOptions) {
    this.network = options.network;
    this.port = options.port ?? ELECTION_UDP_PORT;
    this.onEvent = options.onEvent ?? ignoreEvents;
    this.security = options.security ?? { mode: 'open' };
  }

  async open({ link, mac, onMessage }: ElectionTransportOpenOptions): Promise<ElectionChannel> {
    const address = linkLocalAddressFor(mac);
    const cidr = `${address}/${LINK_LOCAL_PREFIX}`;
    const added = await this.network.addAddress(link, cidr);
    if (added)
      this.onEvent({ type: 'log', level: 'debug', message: `added ${cidr} to ${link} for the candidacy exchange`, source: 'election' });
    const rx = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const tx = dgram.createSocket({ type: 'udp4' });
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await Promise.all([closeSocket(rx), closeSocket(tx)]);
      if (added && (await this.network.delAddress(link, cidr))) {
        this.onEvent({ type: 'log', level: 'debug', message: `removed ${cidr} from ${link}`, source: 'election' });
      }
    };
    try {
      await bind(rx, this.port, LINK_LOCAL_BROADCAST);
      await bind(tx, 0, address);
      tx.setBroadcast(true);
    } catch (error) {
      await close();
      throw new ClusterLabError(
        'ELECTION_SOCKET',
        `cannot open the election socket on ${link} (${cidr}, UDP ${this.port}): ${(error as Error).message}`,
        {
          hint: `check that no other program uses UDP port ${this.port} and that ${link} is up`,
          cause: error,
        },
      );
    }
    // One codec (one replay cache, one set of counters) per open channel.
    const codec = new ElectionCodec(this.security);
    rx.on('message', (data) => {
      const message = codec.decode(data);
      if (message) onMessage(message);
    });
    // A socket error after setup (e.g. the link went away) must not crash the process; sends report their own errors.
    rx.on('error', () => {});
    tx.on('error', () => {});
    return {
      authenticated: codec.authenticated,
      stats: () => codec.stats(),
      send: (message: CandidacyMessage) =>
        new Promise<void>((resolve, reject) => {
          if (closed) {
            resolve();
            return;
          }
          tx.send(codec.encode(message), this.port, LINK_LOCAL_BROADCAST, (error) => (error ? reject(error) : resolve()));
        }),
      close,
    };
  }
}

function bind(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port, address, exclusive: false }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // never bound, or already closed
    }
  });
}
