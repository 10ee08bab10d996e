import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, isIpv4 } from '@cluster-lab/core';
import type { NodeFacts } from '../node-facts.js';

/**
 * How long a node that won the leader address looks for an existing cluster before it
 * bootstraps a new one, when it knows addresses to ask. A live Consul agent answers
 * `/v1/status/leader` in milliseconds; the one case that needs patience is a cluster that is
 * electing a new Raft leader right now (its old one — often this very node — just left), and
 * with `raft_multiplier` 1 that takes 1–2 s. 3 s covers it with a second to spare. The price is
 * paid only when the known addresses are all dead (the whole cluster was shut down and boots
 * again): then every node's start waits this long once. With no address known (a first boot)
 * the node bootstraps at once.
 */
export const DISCOVERY_TIMEOUT_MS = 3_000;
/** Timeout of one question to one candidate: an agent on the cluster link answers in milliseconds; a dead address would otherwise hold the round for the TCP connect timeout. */
export const DISCOVERY_REQUEST_TIMEOUT_MS = 700;
/** Pause between rounds of questions while no candidate has answered. */
export const DISCOVERY_POLL_MS = 200;

/** Where a candidate address came from. */
export type CandidateSource = 'cluster-file' | 'lease-file' | 'election';

/** An address that may run a Consul agent of an existing cluster. */
export interface DiscoveryCandidate {
  address: string;
  sources: CandidateSource[];
}

/**
 * The addresses to ask, deduplicated, servers first: the Consul servers and Swarm managers this
 * node knew (`cluster.json`), the members heard on the election channel, then every address of
 * the lease database. Never this node's own addresses.
 *
 * @example
 * ```ts
 * discoveryCandidates({ clusterFile, leases, members: election.members, exclude: [nodeAddress, leaderAddress] });
 * ```
 */
export function discoveryCandidates(input: {
  consulServers?: readonly string[];
  swarmManagers?: readonly string[];
  members?: readonly { nodeAddress: string }[];
  leases?: readonly { ip: string }[];
  exclude?: readonly string[];
}): DiscoveryCandidate[] {
  const out = new Map<string, DiscoveryCandidate>();
  const add = (address: string, source: CandidateSource) => {
    const ip = address.replace(/:\d+$/, '');
    if (!isIpv4(ip) || input.exclude?.includes(ip)) return;
    const known = out.get(ip);
    if (!known) out.set(ip, { address: ip, sources: [source] });
    else if (!known.sources.includes(source)) known.sources.push(source);
  };
  for (const a of input.consulServers ?? []) add(a, 'cluster-file');
  for (const a of input.swarmManagers ?? []) add(a, 'cluster-file');
  for (const m of input.members ?? []) add(m.nodeAddress, 'election');
  for (const l of input.leases ?? []) add(l.ip, 'lease-file');
  return [...out.values()];
}

/** What one candidate said: its cluster's Raft leader and voting servers. */
export interface CandidateAnswer {
  address: string;
  /** The Raft leader, `ip:8300`. */
  leader: string;
  /** Addresses of the Consul servers (Raft peers), without ports. */
  servers: string[];
}

/** Asks one address whether a Consul cluster with a leader runs there; undefined for no answer or no leader. */
export type AskCandidate = (address: string, signal: AbortSignal) => Promise<CandidateAnswer | undefined>;

/** The outcome of {@link discoverCluster}. */
export interface ClusterDiscovery {
  /** `join`: a cluster answered; `bootstrap`: start a new one. */
  decision: 'join' | 'bootstrap';
  /** Why: nothing to ask, an answer, or no answer within the time allowed. */
  reason: 'no-candidates' | 'answered' | 'timeout';
  /** The addresses asked. */
  candidates: string[];
  /** The first answer (with `decision: 'join'`). */
  answer?: CandidateAnswer;
  durationMs: number;
}

/**
 * Discover before bootstrap: asks every candidate at once, round after round, whether a Consul
 * cluster with a leader runs there. The first answer means "join that cluster"; no candidate
 * means "bootstrap at once" (first boot stays fast); candidates but no answer within `timeoutMs`
 * means "bootstrap" too — the caller must say so loudly, since a cluster it could not reach may
 * still exist.
 *
 * @example
 * ```ts
 * const found = await discoverCluster({ candidates, ask: askConsulAt(node), signal });
 * if (found.decision === 'join') console.log('join via', found.answer?.servers);
 * ```
 */
export async function discoverCluster(input: {
  candidates: readonly DiscoveryCandidate[];
  ask: AskCandidate;
  timeoutMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
}): Promise<ClusterDiscovery> {
  const started = performance.now();
  const candidates = input.candidates.map((c) => c.address);
  const done = (d: Omit<ClusterDiscovery, 'durationMs' | 'candidates'>): ClusterDiscovery => ({
    ...d,
    candidates,
    durationMs: Math.round(performance.now() - started),
  });
  if (candidates.length === 0) return done({ decision: 'bootstrap', reason: 'no-candidates' });
  const timeoutMs = input.timeoutMs ?? DISCOVERY_TIMEOUT_MS;
  const pollMs = input.pollMs ?? DISCOVERY_POLL_MS;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  input.signal?.addEventListener('abort', onAbort, { once: true });
  const deadline = Date.now() + timeoutMs;
  const askUntilAnswered = async (address: string): Promise<CandidateAnswer> => {
    while (!stop.signal.aborted && Date.now() < deadline) {
      const round = Date.now();
      const answer = await input.ask(address, stop.signal).catch(() => undefined);
      if (answer) return answer;
      await sleep(Math.max(0, Math.min(pollMs - (Date.now() - round), deadline - Date.now())), undefined, { signal: stop.signal }).catch(
        () => {},
      );
    }
    throw new Error('no answer');
  };
  try {
    const answer = await Promise.any(candidates.map(askUntilAnswered));
    return done({ decision: 'join', reason: 'answered', answer });
  } catch {
    if (input.signal?.aborted) throw new AbortedError('discovery');
    return done({ decision: 'bootstrap', reason: 'timeout' });
  } finally {
    stop.abort();
    input.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The real {@link AskCandidate}: `GET /v1/status/leader` and `/v1/status/peers` on the agent at
 * the address (HTTP port from the config; no ACL token needed for status), each bounded by
 * {@link DISCOVERY_REQUEST_TIMEOUT_MS}.
 */
export function askConsulAt(node: Pick<NodeFacts, 'consulAt'>): AskCandidate {
  return async (address) => {
    const client = node.consulAt(address, { timeoutMs: DISCOVERY_REQUEST_TIMEOUT_MS });
    try {
      const leader = await client.leader();
      if (!leader) return undefined;
      const servers = (await client.peers()).map((p) => p.replace(/:\d+$/, '')).filter(isIpv4);
      return { address, leader, servers: servers.length > 0 ? servers : [leader.replace(/:\d+$/, '')] };
    } finally {
      client.close();
    }
  };
}
