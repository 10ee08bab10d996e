import type { ConsulMember } from '@cluster-lab/consul';
import { type ClusterStore, describeError, type EventSink, ignoreEvents } from '@cluster-lab/core';
import {
  type DockerClient,
  inspectEngine,
  listSwarmNodes,
  RECONCILE_LOCK_TIMEOUT_MS,
  removeSwarmNode,
  type SwarmNodeObject,
  swarmKeys,
  updateSwarmNode,
} from '@cluster-lab/swarm';
import { claimRoleSlot, releaseRoleSlot } from '../cluster-state/role-slots.js';

/** How often the Swarm leader's supervisor runs a membership upkeep round. */
export const UPKEEP_INTERVAL_MS = 5_000;
/**
 * Where a node is asked to restart its Consul agent as a server (`cluster-lab/consul/promote/<hostname>`
 * in Consul KV): only the node itself can change its agent, so upkeep writes the request and
 * that node's supervisor carries it out ({@link PROMOTE_KEY_PREFIX} + hostname).
 */
export const PROMOTE_KEY_PREFIX = 'consul/promote/';
/**
 * Extra time a node gets when only its Swarm entry is down while its Consul agent is alive: the
 * node is running — booting (a restarted manager waits for its old identity up to the swarm
 * join's pending grace) or being re-joined by its own swarm repair (up to 60 s pending plus the
 * join) — and removing it then would take its seat from under a start that already runs its
 * Consul server. Longer than both, so only a node whose engine is truly gone is removed.
 */
export const SWARM_ONLY_DOWN_GRACE_MS = 120_000;
/** How many removals and promotions the state remembers (for `health` and `status`). */
const HISTORY = 20;

/** The Consul calls upkeep makes (the Swarm leader's own agent). */
export interface UpkeepConsul {
  members(): Promise<ConsulMember[]>;
  forceLeave(node: string, options?: { prune?: boolean }): Promise<void>;
}

/** Options of {@link MembershipUpkeep}. */
export interface MembershipUpkeepOptions {
  /** This node's Docker API (upkeep acts only while it is the swarm's Raft leader). */
  docker: DockerClient;
  consul: UpkeepConsul;
  /** The cluster store (slot table, promotion requests, the reconcile lock). */
  store: ClusterStore;
  /** This node's name (never removed by itself). */
  hostname: string;
  /** `membership.removeAfter` in ms. */
  removeAfterMs: number;
  /** Seats in the slot table: `consul.servers` (= `swarm.managers`). */
  servers: number;
  /** Epoch clock (ms). */
  now?: () => number;
  onEvent?: EventSink;
}

/** What upkeep knows, for the supervisor's status file. */
export interface UpkeepState {
  /** This node is the swarm's Raft leader, so upkeep acts here. */
  active: boolean;
  /** Nodes seen down (Swarm `down` or Consul `failed`), since when (epoch ms). */
  down: { hostname: string; since: number }[];
  /** Nodes removed, newest last. */
  removed: { hostname: string; at: number; swarm: boolean; consul: boolean; slotFreed: boolean }[];
  /** Nodes given a seat (Swarm manager + Consul server), newest last. */
  promoted: { hostname: string; at: number; swarm: boolean; consulRequested: boolean }[];
  lastRoundAt?: number;
  lastError?: string;
  /** Why the last round could not restore the seat count (no healthy node to promote, …). */
  note?: string;
}

/** What one {@link MembershipUpkeep.round} did. */
export interface UpkeepRound {
  skipped?: string;
  removed: string[];
  promoted: string[];
}

/**
 * Membership upkeep, run by the supervisor of the node that is the swarm's Raft leader (one
 * place, so two nodes never act at once; rounds also hold the swarm reconciler's lock):
 *
 * 1. a node that has been down (Swarm `down`, or Consul `failed`) for longer than
 *    `membership.removeAfter` (plus {@link SWARM_ONLY_DOWN_GRACE_MS} while its Consul agent is
 *    alive: it is starting or re-joining the swarm) is removed for good — demoted first if it
 *    was a manager (Swarm refuses to remove a Raft member; demoting an unreachable manager never lowers the number of
 *    reachable ones, so quorum is never lost by our action), `docker node rm --force`, Consul
 *    `force-leave -prune` (a failed server leaves the Raft peers) — and its seat in the slot table
 *    is freed;
 * 2. while fewer live nodes hold a seat than `consul.servers` allows (the largest odd number the
 *    live nodes permit), one healthy node gets a seat in both stores: a node that already is one
 *    of the two first (re-aligning "server = manager"), then by host name; Swarm: `node promote`;
 *    Consul: a request in KV ({@link PROMOTE_KEY_PREFIX}) that the node's own supervisor carries
 *    out by restarting its agent as a server.
 *
 * A removed node that comes back starts afresh: its stale swarm entry is gone (the reconciler
 * tells it through the store) and it joins as a normal member, with a seat only if one is free.
 */
export class MembershipUpkeep {
  private readonly o: MembershipUpkeepOptions;
  private readonly now: () => number;
  private readonly emit: EventSink;
  private readonly downSince = new Map<string, number>();
  private readonly current: UpkeepState = { active: false, down: [], removed: [], promoted: [] };

  constructor(options: MembershipUpkeepOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.emit = options.onEvent ?? ignoreEvents;
  }

  /** A snapshot for the status file. */
  state(): UpkeepState {
    return structuredClone({ ...this.current, down: [...this.downSince].map(([hostname, since]) => ({ hostname, since })) });
  }

  /** One round; never throws (errors land in the state and a warning). */
  async round(): Promise<UpkeepRound> {
    const result: UpkeepRound = { removed: [], promoted: [] };
    this.current.lastRoundAt = this.now();
    try {
      const leader = await this.isSwarmLeader();
      this.current.active = leader;
      if (!leader) {
        this.downSince.clear();
        return { ...result, skipped: 'this node is not the swarm leader' };
      }
      const keys = swarmKeys();
      let lock: Awaited<ReturnType<ClusterStore['lock']>>;
      try {
        lock = await this.o.store.lock(keys.reconcileLock, { timeoutMs: RECONCILE_LOCK_TIMEOUT_MS });
      } catch {
        return { ...result, skipped: 'the swarm reconciler holds the lock' };
      }
      try {
        await this.removeLongDown(result);
        await this.restoreSeats(result);
      } finally {
        await lock.release();
      }
      delete this.current.lastError;
    } catch (error) {
      this.current.lastError = describeError(error);
      this.log('warn', `membership upkeep failed: ${describeError(error)}`);
    }
    return result;
  }

  private async isSwarmLeader(): Promise<boolean> {
    const info = await inspectEngine(this.o.docker);
    if (info.Swarm.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) return false;
    const self = (await listSwarmNodes(this.o.docker)).find((n) => n.ID === info.Swarm.NodeID);
    return Boolean(self?.ManagerStatus?.Leader);
  }

  private async removeLongDown(result: UpkeepRound): Promise<void> {
    const now = this.now();
    const nodes = await listSwarmNodes(this.o.docker);
    const members = await this.o.consul.members();
    const byHost = groupByHost(nodes);
    const down = new Set<string>();
    for (const [hostname, entries] of byHost) if (entries.every((n) => n.Status.State === 'down')) down.add(hostname);
    for (const m of members) if (m.status === 'failed') down.add(m.name);
    down.delete(this.o.hostname);
    const agentAlive = new Set(members.filter((m) => m.status === 'alive').map((m) => m.name));
    for (const hostname of [...this.downSince.keys()]) if (!down.has(hostname)) this.downSince.delete(hostname);
    for (const hostname of down) {
      const since = this.downSince.get(hostname) ?? now;
      this.downSince.set(hostname, since);
      const wait = this.o.removeAfterMs + (agentAlive.has(hostname) ? SWARM_ONLY_DOWN_GRACE_MS : 0);
      if (now - since < wait) continue;
      const removed = { hostname, at: now, swarm: false, consul: false, slotFreed: false };
      for (const entry of byHost.get(hostname) ?? []) {
        if (entry.Spec.Role === 'manager') await updateSwarmNode(this.o.docker, entry, { ...entry.Spec, Role: 'worker' });
        // Re-read: the demotion bumped the node's version.
        const fresh = (await listSwarmNodes(this.o.docker)).find((n) => n.ID === entry.ID);
        if (fresh) await removeSwarmNode(this.o.docker, fresh, true);
        removed.swarm = true;
      }
      // Any entry but a live one goes: a failed node, and one Consul already lists as left or leaving (prune drops it for good).
      if (members.some((m) => m.name === hostname && m.status !== 'alive')) {
        await this.o.consul.forceLeave(hostname, { prune: true });
        removed.consul = true;
      }
      removed.slotFreed = await releaseRoleSlot(this.o.store, hostname);
      await this.o.store.delete(`${PROMOTE_KEY_PREFIX}${hostname}`);
      this.downSince.delete(hostname);
      this.remember(this.current.removed, removed);
      result.removed.push(hostname);
      this.log(
        'warn',
        `removed ${hostname}: down for ${Math.round((now - since) / 1000)} s (membership.removeAfter ${Math.round(this.o.removeAfterMs / 1000)} s)${removed.swarm ? '; swarm node removed' : ''}${removed.consul ? '; Consul force-leave' : ''}${removed.slotFreed ? '; its manager/server seat is free' : ''}`,
      );
    }
  }

  private async restoreSeats(result: UpkeepRound): Promise<void> {
    const nodes = (await listSwarmNodes(this.o.docker)).filter((n) => n.Status.State !== 'down');
    const members = (await this.o.consul.members()).filter((m) => m.status === 'alive');
    const live = new Set([...members.map((m) => m.name)].filter((h) => nodes.some((n) => n.Description.Hostname === h)));
    let desired = Math.min(this.o.servers, live.size);
    if (desired % 2 === 0) desired -= 1;
    const managers = new Set(
      nodes.filter((n) => n.Spec.Role === 'manager' && n.ManagerStatus?.Reachability === 'reachable').map((n) => n.Description.Hostname),
    );
    const servers = new Set(members.filter((m) => m.role === 'server').map((m) => m.name));
    delete this.current.note;
    if (managers.size >= desired && servers.size >= desired) return;
    const pending = new Set((await this.o.store.list(PROMOTE_KEY_PREFIX)).keys());
    const candidates = [...live]
      .filter((h) => !(managers.has(h) && servers.has(h)))
      .filter((h) => {
        const node = nodes.find((n) => n.Description.Hostname === h);
        return node?.Status.State === 'ready' && node.Spec.Availability === 'active';
      })
      // A node that already is one of the two first: it re-aligns the sets.
      .sort((a, b) => Number(managers.has(b) || servers.has(b)) - Number(managers.has(a) || servers.has(a)) || a.localeCompare(b));
    const hostname = candidates[0];
    if (!hostname) {
      this.current.note = `${Math.min(managers.size, servers.size)} of ${desired} seats held and no healthy node to promote: add a node`;
      return;
    }
    if (pending.has(`${PROMOTE_KEY_PREFIX}${hostname}`) && managers.has(hostname)) return; // its supervisor is on it
    if (!(await claimRoleSlot(this.o.store, hostname, { slots: this.o.servers }))) {
      this.current.note = `no free seat for ${hostname}: a node that is gone still holds one until it is removed`;
      return;
    }
    const promoted = { hostname, at: this.now(), swarm: false, consulRequested: false };
    if (!managers.has(hostname)) {
      const node = nodes.find((n) => n.Description.Hostname === hostname) as SwarmNodeObject;
      await updateSwarmNode(this.o.docker, node, { ...node.Spec, Role: 'manager' });
      promoted.swarm = true;
    }
    if (!servers.has(hostname)) {
      await this.o.store.put(
        `${PROMOTE_KEY_PREFIX}${hostname}`,
        JSON.stringify({ requestedAt: new Date(this.now()).toISOString(), by: this.o.hostname }),
      );
      promoted.consulRequested = true;
    }
    this.remember(this.current.promoted, promoted);
    result.promoted.push(hostname);
    this.log(
      'info',
      `gave ${hostname} a manager/server seat (${desired} wanted, ${managers.size} managers and ${servers.size} Consul servers live)${promoted.swarm ? '; swarm promote' : ''}${promoted.consulRequested ? '; asked it to restart Consul as a server' : ''}`,
    );
  }

  private remember<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > HISTORY) list.splice(0, list.length - HISTORY);
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.emit({ type: 'log', level, message, source: 'upkeep' });
  }
}

function groupByHost(nodes: readonly SwarmNodeObject[]): Map<string, SwarmNodeObject[]> {
  const map = new Map<string, SwarmNodeObject[]>();
  for (const n of nodes) {
    const h = n.Description.Hostname;
    if (!h) continue;
    map.set(h, [...(map.get(h) ?? []), n]);
  }
  return map;
}
