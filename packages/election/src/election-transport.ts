import type { CandidacyMessage } from './candidate.js';
import type { ElectionCodecStats } from './election-codec.js';

/** Options for {@link ElectionTransport.open}. */
export interface ElectionTransportOpenOptions {
  /** Cluster link to talk on. */
  link: string;
  /** MAC of that link (the link-local address is derived from it). */
  mac: string;
  /**
   * Called for every well-formed message heard on the link, including this node's own
   * broadcasts. On an {@link ElectionChannel.authenticated} channel only messages that verified
   * against the cluster secret arrive here; the others are dropped and counted.
   */
  onMessage: (message: CandidacyMessage) => void;
}

/** An open candidacy exchange. */
export interface ElectionChannel {
  /**
   * True when every message delivered to `onMessage` was authenticated with the cluster secret
   * (so an ARP answer can be checked against them); false with `security: open`.
   */
  readonly authenticated: boolean;
  /** Broadcasts `message` to every node on the link. Best effort: datagrams may be lost. */
  send(message: CandidacyMessage): Promise<void>;
  /** What was accepted and dropped so far (unauthenticated, replayed, …). */
  stats(): ElectionCodecStats;
  /** Stops listening and releases whatever {@link ElectionTransport.open} set up. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Carries {@link CandidacyMessage}s between the nodes of one cluster link. The real one is
 * {@link UdpElectionTransport}; {@link FakeSegment} provides an in-memory one with delays and loss;
 * {@link sharedChannelTransport} lets an election run on a channel that is already open.
 */
export interface ElectionTransport {
  open(options: ElectionTransportOpenOptions): Promise<ElectionChannel>;
}

/** An open channel whose messages can be tapped by more than one listener. */
export interface SharedChannel extends ElectionChannel {
  /** Adds a listener for received messages; returns the function that removes it. */
  listen(onMessage: (message: CandidacyMessage) => void): () => void;
}

/**
 * Wraps an open channel so that several users (the supervisor's heartbeat loop, and an election
 * it runs on failover) share one socket and one link-local address: `open` adds a listener,
 * `close` removes only that listener. The shared channel itself is closed by its owner.
 *
 * @example
 * ```ts
 * const shared = shareChannel(await transport.open({ link, mac, onMessage: () => {} }));
 * await electLeader({ …, transport: sharedChannelTransport(shared) });
 * ```
 */
export function sharedChannelTransport(shared: SharedChannel): ElectionTransport {
  return {
    open: async ({ onMessage }) => {
      const unlisten = shared.listen(onMessage);
      return {
        authenticated: shared.authenticated,
        send: (message) => shared.send(message),
        stats: () => shared.stats(),
        close: async () => unlisten(),
      };
    },
  };
}

/**
 * Opens `transport` once and returns a {@link SharedChannel} that fans every received message
 * out to its listeners.
 */
export async function openSharedChannel(
  transport: ElectionTransport,
  options: Omit<ElectionTransportOpenOptions, 'onMessage'>,
): Promise<SharedChannel> {
  const listeners = new Set<(message: CandidacyMessage) => void>();
  const channel = await transport.open({
    ...options,
    onMessage: (message) => {
      for (const listener of [...listeners]) listener(message);
    },
  });
  return {
    authenticated: channel.authenticated,
    send: (message) => channel.send(message),
    stats: () => channel.stats(),
    close: () => channel.close(),
    listen(onMessage) {
      listeners.add(onMessage);
      return () => listeners.delete(onMessage);
    },
  };
}
