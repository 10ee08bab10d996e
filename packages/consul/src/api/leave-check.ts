import type { ConsulClient } from './consul-client.js';

/** The agent that is leaving, as {@link consulLeaveDone} needs to know it. */
export interface LeavingAgent {
  /** Its `node_name`. */
  nodeName: string;
  /** Whether it runs a server (then it must also be out of the Raft peer set). */
  server: boolean;
}

/** Options of {@link consulLeaveDone}. */
export interface LeaveCheckOptions {
  /**
   * The Raft peer set as the server at `host` (an IP address) knows it — the HTTP API of another
   * server (`GET http://<host>:8500/v1/status/peers`). A follower that was removed may never hear
   * of its own removal, so the remaining servers' view is the one that counts. Without it the
   * leaving agent's own view is used.
   */
  peersOf?: (host: string) => Promise<string[]>;
}

/**
 * Whether a leaving agent's graceful leave has done what the cluster needs, asked of the agent
 * itself (its HTTP API keeps answering while it leaves) and, for a server, of the Raft leader:
 * - its gossip leave is out: the agent sees itself `left` (its leave intent and "dead" message
 *   went out; the others mark it left, not failed);
 * - a server is out of the Raft peer set (`/v1/status/peers`), so the remaining servers' quorum
 *   is counted without it — or no other server is alive to keep a quorum with (every server is
 *   leaving at once: waiting for a removal no leader will make would only cost seconds).
 *
 * What Consul does after that — ~3 s of leave propagation (1.8) and `leave_drain_time` — keeps
 * the agent answering probes and RPCs from a WAN; `stop` ends it with a second SIGTERM. Any
 * error (the agent already gone, a timeout) is "not yet".
 *
 * @example
 * ```ts
 * await runtime.stop({ leave: 'graceful', left: () => consulLeaveDone(client, { nodeName: 'pi2', server: true }) });
 * ```
 */
export async function consulLeaveDone(client: ConsulClient, agent: LeavingAgent, options: LeaveCheckOptions = {}): Promise<boolean> {
  const members = await client.members();
  const self = members.find((m) => m.name === agent.nodeName);
  if (self?.status !== 'left') return false;
  if (!agent.server) return true;
  const others = members.filter((m) => m.name !== agent.nodeName && m.role === 'server' && m.status === 'alive');
  if (others.length === 0) return true;
  const own = `${self.address}:${self.tags.port ?? '8300'}`;
  if (!options.peersOf) return !(await client.peers()).includes(own);
  // The leader's view, else any remaining server's: whoever is asked must not be leaving itself.
  const leader = (await client.leader().catch(() => undefined))?.split(':')[0];
  const host = leader && leader !== self.address && others.some((m) => m.address === leader) ? leader : (others[0]?.address as string);
  return !(await options.peersOf(host)).includes(own);
}
