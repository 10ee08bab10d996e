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
  /** The cluster this node is a member of; absent for a stranger (a node that has not joined a cluster yet). Members rank before strangers. */
  clusterId?: string;
}

/**
 * What a node tells the others about its membership (election message v2). A member answers a
 * stranger's candidacy with it, so a booting node learns that a cluster exists and where.
 */
export interface MemberInfo {
  /** The cluster this node belongs to; absent for a stranger. */
  clusterId?: string;
  /** The node's own address on the cluster link (never the leader address). */
  nodeAddress?: string;
  /** The node runs a Consul server. */
  consulServer?: boolean;
  /** The node is a Swarm manager. */
  swarmManager?: boolean;
}

/**
 * The datagram each node broadcasts on the cluster link: during an election, as the VIP holder's
 * heartbeat, and as a member's answer to a stranger. Wire format v2 ({@link candidacyToWire}):
 * a JSON object with `t: 'cluster-lab-election'`, `v: 2`, these fields (the MAC as `hw`) and,
 * with a cluster secret, `ts`, `nonce` and `mac` (an HMAC, see {@link ElectionCodec}).
 */
export interface CandidacyMessage extends Candidate, MemberInfo {
  /** Leader address the election is for; messages about another address are ignored. */
  leaderAddress: string;
  state: CandidateState;
  /** Leadership term: bumped by every change of the VIP holder (0 before the first). */
  term?: number;
}

/** Protocol tag put in every datagram, so stray traffic on the port is ignored. */
export const ELECTION_WIRE_TAG = 'cluster-lab-election';
/** Current wire format version. */
export const ELECTION_WIRE_VERSION = 2;

const STATES: readonly CandidateState[] = ['candidate', 'claiming', 'leader', 'follower'];
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** A cluster id: a UUID, or another short printable token (≤ 64 characters). */
const CLUSTER_ID = /^[A-Za-z0-9:._-]{1,64}$/;
const NODE_ID = /^[^\p{Cc}]{1,128}$/u;

/**
 * The v2 wire object of a message, before authentication (JSON-safe, fields in a fixed shape;
 * the node's MAC travels as `hw` because `mac` is the authentication tag's field).
 */
export function candidacyToWire(message: CandidacyMessage): Record<string, string | number | boolean> {
  const wire: Record<string, string | number | boolean> = {
    t: ELECTION_WIRE_TAG,
    v: ELECTION_WIRE_VERSION,
    leaderAddress: message.leaderAddress,
    nodeId: message.nodeId,
    hw: message.mac,
    priority: message.priority,
    state: message.state,
    term: message.term ?? 0,
  };
  if (message.clusterId !== undefined) wire.clusterId = message.clusterId;
  if (message.nodeAddress !== undefined) wire.nodeAddress = message.nodeAddress;
  if (message.consulServer !== undefined) wire.consulServer = message.consulServer;
  if (message.swarmManager !== undefined) wire.swarmManager = message.swarmManager;
  return wire;
}

/**
 * Reads a message from its wire object (already JSON-parsed; authentication fields are
 * ignored here, {@link ElectionCodec} checks them). Returns undefined for anything that is not a
 * well-formed v2 message.
 */
export function candidacyFromWire(raw: unknown): CandidacyMessage | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const m = raw as Record<string, unknown>;
  if (m.t !== ELECTION_WIRE_TAG || m.v !== ELECTION_WIRE_VERSION) return undefined;
  if (typeof m.leaderAddress !== 'string' || !IPV4.test(m.leaderAddress)) return undefined;
  if (typeof m.nodeId !== 'string' || !NODE_ID.test(m.nodeId)) return undefined;
  if (typeof m.hw !== 'string' || !MAC.test(m.hw) || !isPriority(m.priority)) return undefined;
  if (typeof m.state !== 'string' || !STATES.includes(m.state as CandidateState)) return undefined;
  if (typeof m.term !== 'number' || !Number.isSafeInteger(m.term) || m.term < 0) return undefined;
  const message: CandidacyMessage = {
    leaderAddress: m.leaderAddress,
    nodeId: m.nodeId,
    mac: m.hw,
    priority: m.priority,
    state: m.state as CandidateState,
    term: m.term,
  };
  if (m.clusterId !== undefined) {
    if (typeof m.clusterId !== 'string' || !CLUSTER_ID.test(m.clusterId)) return undefined;
    message.clusterId = m.clusterId;
  }
  if (m.nodeAddress !== undefined) {
    if (typeof m.nodeAddress !== 'string' || !IPV4.test(m.nodeAddress)) return undefined;
    message.nodeAddress = m.nodeAddress;
  }
  for (const flag of ['consulServer', 'swarmManager'] as const) {
    if (m[flag] === undefined) continue;
    if (typeof m[flag] !== 'boolean') return undefined;
    message[flag] = m[flag];
  }
  return message;
}

/** Serialises a {@link CandidacyMessage} for the wire, unauthenticated (`security: open`); see {@link ElectionCodec} for signed messages. */
export function encodeCandidacy(message: CandidacyMessage): Buffer {
  return Buffer.from(JSON.stringify(candidacyToWire(message)));
}

/** Parses a datagram; returns undefined for anything that is not a well-formed v2 candidacy message. Authentication is not checked here. */
export function decodeCandidacy(data: Uint8Array | string): CandidacyMessage | undefined {
  try {
    return candidacyFromWire(JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8')));
  } catch {
    return undefined;
  }
}

function isPriority(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255;
}

/** What {@link compareCandidates} looks at. */
export type RankFields = Pick<Candidate, 'mac' | 'priority'> & { clusterId?: string | undefined };

/**
 * Total order of candidates: negative when `a` ranks before (beats) `b`. Members of a cluster
 * (a `clusterId`) before strangers, then higher priority, then the numerically lowest MAC. Two
 * distinct NICs never share a MAC, so the order is strict.
 *
 * @example
 * ```ts
 * [b, a].sort(compareCandidates)[0]; // the winner
 * ```
 */
export function compareCandidates(a: RankFields, b: RankFields): number {
  const am = a.clusterId !== undefined;
  const bm = b.clusterId !== undefined;
  if (am !== bm) return am ? -1 : 1;
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
