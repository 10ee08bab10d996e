import { ClusterLabError } from '@cluster-lab/core';

/**
 * Where a node is in the election, carried in every {@link CandidacyMessage}:
 * `candidate` while collecting rivals, `claiming` while probing before taking the address,
 * `leader` once it holds the leader address, `follower` once it has deferred.
 */
export type CandidateState = 'candidate' | 'claiming' | 'leader' | 'follower';

/** Identity and rank of one node taking part in an election. */
export interface Candidate {
  /** Stable node identity (hostname or machine id) — only used for logs and self-detection. */
  nodeId: string;
  /** MAC of the node's cluster link, lower case `aa:bb:cc:dd:ee:ff`. Breaks priority ties (lowest wins). */
  mac: string;
  /** 0–255, higher wins. */
  priority: number;
}

/**
 * The datagram each node broadcasts on the cluster link during an election.
 * Version 1 wire format: a JSON object with these fields plus `v: 1` and `t: 'cluster-lab-election'`.
 */
export interface CandidacyMessage extends Candidate {
  /** Leader address the election is for; messages about another address are ignored. */
  leaderAddress: string;
  state: CandidateState;
}

/** Protocol tag and version put in every datagram, so stray traffic on the port is ignored. */
const WIRE_TAG = 'cluster-lab-election';
const WIRE_VERSION = 1;

/** Serialises a {@link CandidacyMessage} for the wire. */
export function encodeCandidacy(message: CandidacyMessage): Buffer {
  return Buffer.from(
    JSON.stringify({
      t: WIRE_TAG,
      v: WIRE_VERSION,
      leaderAddress: message.leaderAddress,
      nodeId: message.nodeId,
      mac: message.mac,
      priority: message.priority,
      state: message.state,
    }),
  );
}

const STATES: readonly CandidateState[] = ['candidate', 'claiming', 'leader', 'follower'];
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Parses a datagram; returns undefined for anything that is not a well-formed v1 candidacy message. */
export function decodeCandidacy(data: Uint8Array | string): CandidacyMessage | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (m.t !== WIRE_TAG || m.v !== WIRE_VERSION) return undefined;
  if (typeof m.leaderAddress !== 'string' || typeof m.nodeId !== 'string' || typeof m.mac !== 'string') return undefined;
  if (!MAC.test(m.mac) || !isPriority(m.priority)) return undefined;
  if (typeof m.state !== 'string' || !STATES.includes(m.state as CandidateState)) return undefined;
  return { leaderAddress: m.leaderAddress, nodeId: m.nodeId, mac: m.mac, priority: m.priority, state: m.state as CandidateState };
}

function isPriority(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255;
}

/**
 * Total order of candidates: negative when `a` ranks before (beats) `b`. Higher priority wins,
 * then the numerically lowest MAC. Two distinct NICs never share a MAC, so the order is strict.
 *
 * @example
 * ```ts
 * [b, a].sort(compareCandidates)[0]; // the winner
 * ```
 */
export function compareCandidates(a: Pick<Candidate, 'mac' | 'priority'>, b: Pick<Candidate, 'mac' | 'priority'>): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const ma = macToNumber(a.mac);
  const mb = macToNumber(b.mac);
  return ma < mb ? -1 : ma > mb ? 1 : 0;
}

/** The MAC as a 48-bit number (lower case or upper case input). */
export function macToNumber(mac: string): number {
  return Number.parseInt(mac.replaceAll(':', ''), 16);
}

/** Lower-cases and validates a MAC, throwing a usage {@link ClusterLabError} naming `field`. */
export function normaliseMac(mac: string, field = 'mac'): string {
  const lower = mac.toLowerCase();
  if (!MAC.test(lower)) {
    throw new ClusterLabError('INVALID_ARGUMENT', `${field} ${JSON.stringify(mac)} must look like aa:bb:cc:dd:ee:ff`, {
      hint: 'pass the MAC of the cluster link (`ip -j link show <link>` → address)',
      errorClass: 'usage',
    });
  }
  return lower;
}

/** Throws a config {@link ClusterLabError} unless `priority` is a whole number 0–255. */
export function assertPriority(priority: unknown): asserts priority is number {
  if (!isPriority(priority)) {
    throw new ClusterLabError('INVALID_ARGUMENT', `priority ${JSON.stringify(priority)} must be a whole number between 0 and 255`, {
      hint: 'set `priority` in the config to e.g. 100 (higher wins the election)',
      errorClass: 'config',
    });
  }
}

/**
 * The IPv4 link-local address (RFC 3927, 169.254.0.0/16) a node uses for the candidacy exchange,
 * derived from its MAC so that it needs no negotiation. The first and last /24 of the range are
 * reserved by RFC 3927 §2.1 and never produced. Two nodes may derive the same address (about 1 in
 * 65 000 per pair); that is harmless here because the exchange only ever sends to the broadcast
 * address and never relies on ARP for the link-local address.
 *
 * @example
 * ```ts
 * linkLocalAddressFor('02:42:ac:11:00:02'); // '169.254.x.y'
 * ```
 */
export function linkLocalAddressFor(mac: string): string {
  const bytes = normaliseMac(mac)
    .split(':')
    .map((b) => Number.parseInt(b, 16));
  // FNV-1a over all six bytes: MACs from one vendor share their first half, so use all of it.
  let hash = 0x811c9dc5;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const third = 1 + ((hash >>> 8) % 254);
  const fourth = hash & 0xff;
  return `169.254.${third}.${fourth}`;
}

/** Prefix length of the link-local range (RFC 3927). */
export const LINK_LOCAL_PREFIX = 16;
/** Broadcast address of the link-local range, where candidacy messages are sent. */
export const LINK_LOCAL_BROADCAST = '169.254.255.255';
