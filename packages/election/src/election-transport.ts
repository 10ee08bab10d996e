import type { CandidacyMessage } from './candidate.js';

/** Options for {@link ElectionTransport.open}. */
export interface ElectionTransportOpenOptions {
  /** Cluster link to talk on. */
  link: string;
  /** MAC of that link (the link-local address is derived from it). */
  mac: string;
  /** Called for every well-formed message heard on the link, including this node's own broadcasts. */
  onMessage: (message: CandidacyMessage) => void;
}

/** An open candidacy exchange. */
export interface ElectionChannel {
  /** Broadcasts `message` to every node on the link. Best effort: datagrams may be lost. */
  send(message: CandidacyMessage): Promise<void>;
  /** Stops listening and releases whatever {@link ElectionTransport.open} set up. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Carries {@link CandidacyMessage}s between the nodes of one cluster link. The real one is
 * {@link UdpElectionTransport}; {@link FakeSegment} provides an in-memory one with delays and loss.
 */
export interface ElectionTransport {
  open(options: ElectionTransportOpenOptions): Promise<ElectionChannel>;
}
