import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { type ClusterLabError, isIpv4 } from '@cluster-lab/core';
import Consul from 'consul';
import { consulError, formatDuration } from '../consul-errors.js';
import { CONSUL_STATUSES, type ConsulStatusMap, lookupStatus } from './consul-statuses.js';

/** Default time {@link ConsulClient.waitForLeader} waits: a leader elects in 1–2 s with raft_multiplier 1. */
export const DEFAULT_LEADER_TIMEOUT_MS = 30_000;
/**
 * Poll interval of {@link ConsulClient.waitForLeader} against the node's own agent (loopback):
 * a 1.8.7 server elects itself 1.5–2.5 s after exec, and every 100 ms of polling granularity
 * showed up in the Consul step; a `GET /v1/status/leader` on loopback costs well under 1 ms.
 */
export const LOCAL_LEADER_POLL_MS = 25;
/**
 * Default poll interval of {@link ConsulClient.waitForLeader} (another node's agent, e.g. a
 * follower waiting for the leader's Consul before claiming a server slot): a status request
 * across the cluster link costs a millisecond; 100 ms granularity added ~50 ms to every wait.
 */
export const DEFAULT_LEADER_POLL_MS = 50;
/**
 * How long {@link ConsulClient.waitForLeader} keeps retrying a refused token once a leader is
 * known. A new Raft leader bootstraps its ACLs (the management token from the config) well
 * within a second of being elected; a token still refused after this is not the cluster's.
 */
export const ACL_READY_GRACE_MS = 10_000;
/** The KV key {@link ConsulClient.waitForLeader} reads to see that its token is accepted (absent is fine). */
const ACL_PROBE_KEY = 'cluster-lab/';
/** Default per-request timeout (blocking queries get their wait time on top). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/**
 * Session TTL for locks. Consul accepts 10 s–24 h; 15 s with renewal every TTL/2 keeps a dead
 * holder's lock for at most ~30 s (Consul invalidates between TTL and 2×TTL).
 */
export const LOCK_SESSION_TTL = '15s';
/**
 * Lock-delay of lock sessions. Replaces Consul's default 15 s: after a holder dies, nobody may
 * take its lock for this long. Our locks guard short bookkeeping (manager slots), so 1 s is enough
 * for a half-dead holder to notice and stop.
 */
export const LOCK_DELAY = '1s';
/** Back-off between acquire attempts while a free key is still under lock-delay. */
const LOCK_RETRY_MS = 100;
/** Session errors of an agent the catalog does not know (completely) yet: retried by {@link ConsulClient.lock}. */
const NOT_YET_REGISTERED = /missing node registration|missing check 'serfHealth' registration/i;

/** Options of {@link ConsulClient}. */
export interface ConsulClientOptions {
  /** `host:port` of the agent's HTTP API, e.g. `127.0.0.1:8500` or `192.168.200.1:8500`. */
  address: string;
  /** ACL token (sent as `X-Consul-Token`). Never logged. */
  token?: string;
  /** Per-request timeout. Default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** One gossip member, as {@link ConsulClient.members} returns it. */
export interface ConsulMember {
  name: string;
  /** Gossip (cluster) address. */
  address: string;
  port: number;
  status: 'none' | 'alive' | 'leaving' | 'left' | 'failed';
  /** `server` for Consul servers, `client` for client agents. */
  role: 'server' | 'client';
  datacenter: string;
  tags: Record<string, string>;
}

/** A KV entry with its value decoded as UTF-8. */
export interface KvEntry {
  key: string;
  value: string;
  flags: number;
  createIndex: number;
  /** The index for compare-and-set. */
  modifyIndex: number;
  lockIndex: number;
  /** Session holding the key's lock, if any. */
  session?: string;
}

/** A service for {@link ConsulClient.registerService}. */
export interface ServiceRegistration {
  name: string;
  /** Default: the name. */
  id?: string;
  address?: string;
  port?: number;
  tags?: string[];
  meta?: Record<string, string>;
}

/** What {@link ConsulClient.agentHealth} reports about the local agent. */
export interface AgentHealth {
  nodeName: string;
  datacenter: string;
  server: boolean;
  version: string;
  /** Leader's server address, or undefined when there is none. */
  leader: string | undefined;
  /** Status of this node's `serfHealth` check in the catalog (undefined when it is not registered). */
  serfHealth: 'passing' | 'warning' | 'critical' | undefined;
  membersAlive: number;
  membersTotal: number;
}

/** A lock held through a Consul session; released by `release()` or `await using`. */
export interface ConsulLock {
  key: string;
  session: string;
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link ConsulClient.lock}. */
export interface LockOptions {
  /** Give up after this long with `CONSUL_LOCK_TIMEOUT`. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Value stored in the lock key while held (e.g. the holder's node name). Default empty. */
  value?: string;
  /** Session name shown in Consul. */
  name?: string;
}

type Ctx = EventEmitter & { includeResponse: true };
type WithResponse<T> = [IncomingMessage, T | undefined];
interface RawKv {
  Key: string;
  Value: string | null;
  Flags: number;
  CreateIndex: number;
  ModifyIndex: number;
  LockIndex: number;
  Session?: string;
}
const STATUS_NAMES = ['none', 'alive', 'leaving', 'left', 'failed'] as const;

/**
 * Typed helpers over the `consul` npm client for what Cluster Lab needs: wait for a leader,
 * members, KV with compare-and-set, session locks, service registration, agent health. Errors
 * become {@link ClusterLabError}s (`CONSUL_UNREACHABLE`, `CONSUL_PERMISSION_DENIED`,
 * `CONSUL_HTTP_ERROR`, `CONSUL_NO_LEADER`, `CONSUL_LOCK_TIMEOUT`); values are never put in messages.
 *
 * @example
 * ```ts
 * const client = new ConsulClient({ address: '192.168.200.1:8500' });
 * await client.waitForLeader({ timeoutMs: 30_000 });
 * await client.kv.put('cluster-lab/leader', '192.168.200.1');
 * ```
 */
export class ConsulClient {
  /** `host:port` this client talks to. */
  readonly address: string;
  /** The underlying `consul` npm client, for anything not wrapped here. */
  readonly consul: Consul;
  private readonly timeoutMs: number;
  private readonly token: string | undefined;

  constructor(options: ConsulClientOptions) {
    const { host, port } = splitAddress(options.address);
    this.address = options.address;
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.consul = new Consul({ host, port, defaults: options.token ? { token: options.token } : {} });
  }

  /** Releases the keep-alive sockets. */
  close(): void {
    this.consul.destroy();
  }

  /** The current Raft leader (`host:8300`), or undefined when none is elected. Equivalent to `GET /v1/status/leader`. */
  async leader(): Promise<string | undefined> {
    const leader = await this.call('status.leader', CONSUL_STATUSES.read, () =>
      this.consul.status.leader({ timeout: this.timeoutMs } as never),
    );
    return typeof leader === 'string' && leader !== '' ? leader : undefined;
  }

  /**
   * The Raft peers — the cluster's voting servers, as `host:8300`. Equivalent to
   * `GET /v1/status/peers` (no ACL needed). A client agent forwards the question to a server.
   */
  async peers(): Promise<string[]> {
    const peers = await this.call('status.peers', CONSUL_STATUSES.read, () =>
      this.consul.status.peers({ timeout: this.timeoutMs } as never),
    );
    return Array.isArray(peers) ? peers.filter((p): p is string => typeof p === 'string' && p !== '') : [];
  }

  /**
   * Polls until the cluster has a leader and returns its server address. Connection errors count
   * as "not yet" (the agent may still be starting). Throws `CONSUL_NO_LEADER` after `timeoutMs`:
   * "no Consul leader after 30 s at 192.168.200.1:8500 — is the leader up?".
   *
   * With a token it also waits until the cluster accepts the token (a KV read under
   * `cluster-lab/`): a new leader bootstraps its ACLs a moment after it is elected, and until then
   * every token is "not found". A token still refused {@link ACL_READY_GRACE_MS} after the leader
   * appeared is a wrong one: `CONSUL_PERMISSION_DENIED` (this node's secret differs).
   */
  async waitForLeader(options: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal; aclGraceMs?: number } = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_LEADER_TIMEOUT_MS;
    const pollMs = options.pollMs ?? DEFAULT_LEADER_POLL_MS;
    const deadline = Date.now() + timeoutMs;
    let lastError: ClusterLabError | undefined;
    let leaderSince: number | undefined;
    for (;;) {
      try {
        const leader = await this.call('status.leader', CONSUL_STATUSES.read, () =>
          this.consul.status.leader({ timeout: Math.max(1, Math.min(this.timeoutMs, deadline - Date.now())) } as never),
        );
        if (typeof leader === 'string' && leader !== '') {
          leaderSince ??= Date.now();
          if (!this.token || (await this.tokenAccepted())) return leader;
          lastError = undefined;
        } else {
          lastError = undefined;
        }
      } catch (error) {
        const refused = (error as ClusterLabError).code === 'CONSUL_PERMISSION_DENIED';
        if (refused && (leaderSince === undefined || Date.now() - leaderSince > (options.aclGraceMs ?? ACL_READY_GRACE_MS))) throw error;
        lastError = error as ClusterLabError;
      }
      if (Date.now() + pollMs > deadline || options.signal?.aborted) {
        if (lastError?.code === 'CONSUL_PERMISSION_DENIED') throw lastError;
        throw consulError(
          'CONSUL_NO_LEADER',
          `no Consul leader after ${formatDuration(timeoutMs)} at ${this.address} — is the leader up?`,
          {
            hint: lastError
              ? `the agent did not answer (${lastError.message}); check \`cluster-lab health\` on the leader`
              : 'the agent answers but no server is elected; check that the leader runs a Consul server and followers can reach it',
            cause: lastError,
          },
        );
      }
      await sleep(pollMs, options.signal);
    }
  }

  /** True when the cluster accepts this client's token for Cluster Lab's KV; throws a refusal. */
  private async tokenAccepted(): Promise<boolean> {
    await this.kv.get(ACL_PROBE_KEY);
    return true;
  }

  /** Gossip members as this agent sees them. Equivalent to `GET /v1/agent/members`. */
  async members(): Promise<ConsulMember[]> {
    const raw = (await this.call('agent.members', CONSUL_STATUSES.read, () =>
      this.consul.agent.members({ timeout: this.timeoutMs } as never),
    )) as unknown as Array<{
      Name: string;
      Addr: string;
      Port: number;
      Status: number;
      Tags: Record<string, string>;
    }>;
    return raw.map((m) => ({
      name: m.Name,
      address: m.Addr,
      port: m.Port,
      status: STATUS_NAMES[m.Status] ?? 'none',
      role: m.Tags?.role === 'consul' ? 'server' : 'client',
      datacenter: m.Tags?.dc ?? '',
      tags: m.Tags ?? {},
    }));
  }

  /** KV helpers (`/v1/kv`). Values are UTF-8 strings. */
  readonly kv = {
    /** The entry at `key`, or undefined. */
    get: async (key: string): Promise<KvEntry | undefined> => {
      const [, item] = await this.kvRead(key, {});
      return item ? toEntry(item as RawKv) : undefined;
    },
    /**
     * Blocking read: waits until the key's index moves past `index` (or `waitMs` passes), then
     * returns the entry (undefined when absent) and the new index. Equivalent to `GET /v1/kv/:key?index=&wait=`.
     */
    watch: async (
      key: string,
      index: number,
      waitMs: number,
      signal?: AbortSignal,
    ): Promise<{ entry: KvEntry | undefined; index: number }> => {
      let res: IncomingMessage;
      let item: unknown;
      try {
        [res, item] = await this.kvRead(key, { index: String(index), wait: `${Math.max(1, Math.ceil(waitMs))}ms` }, waitMs, signal);
      } catch (error) {
        // An aborted wait is not an error: the caller asked to stop waiting.
        if (signal?.aborted) return { entry: undefined, index };
        throw error;
      }
      return { entry: item ? toEntry(item as RawKv) : undefined, index: Number(res.headers['x-consul-index'] ?? 0) };
    },
    /** Every entry under `prefix`, sorted by key. */
    list: async (prefix: string): Promise<KvEntry[]> => {
      const [, items] = await this.kvRead(prefix, { recurse: true });
      return Array.isArray(items) ? (items as RawKv[]).map(toEntry) : [];
    },
    /** Writes `value`. */
    put: async (key: string, value: string, options: { flags?: number } = {}): Promise<void> => {
      await this.call(
        'kv.put',
        CONSUL_STATUSES.kvWrite,
        () => this.consul.kv.set({ key, value, ...options, ...this.opts() } as never),
        key,
      );
    },
    /** Writes only if the key's ModifyIndex is `index` (0: only if absent). Returns whether it was written. */
    cas: async (key: string, value: string, index: number): Promise<boolean> => {
      return Boolean(
        await this.call(
          'kv.cas',
          CONSUL_STATUSES.kvWrite,
          () => this.consul.kv.set({ key, value, cas: index, ...this.opts() } as never),
          key,
        ),
      );
    },
    /** Deletes `key` (with `recurse`: every key under it). Absent keys are fine. */
    delete: async (key: string, options: { recurse?: boolean } = {}): Promise<void> => {
      await this.call('kv.delete', CONSUL_STATUSES.kvWrite, () => this.consul.kv.del({ key, ...options, ...this.opts() } as never), key);
    },
  };

  /** Creates a session bound to this agent's node; returns its id. Equivalent to `PUT /v1/session/create`. */
  async createSession(options: { name?: string; ttl?: string; lockDelay?: string; behavior?: 'release' | 'delete' } = {}): Promise<string> {
    const out = await this.call('session.create', CONSUL_STATUSES.session, () =>
      this.consul.session.create({
        name: options.name,
        ttl: options.ttl,
        lockdelay: options.lockDelay,
        behavior: options.behavior ?? 'release',
        ...this.opts(),
      } as never),
    );
    return (out as { ID: string }).ID;
  }

  /**
   * {@link createSession}, retried while the servers do not know this agent's node yet ("Missing
   * node registration": an agent that just started, or rejoined after it was force-left, is in
   * the catalog only after its first sync, about a second later; "Missing check 'serfHealth'
   * registration": the node is there but the leader has not re-registered its serf health
   * check yet — seen when a node removed while powered off boots again).
   */
  private async createSessionOnceRegistered(
    deadline: number,
    signal: AbortSignal | undefined,
    options: Parameters<ConsulClient['createSession']>[0],
  ): Promise<string> {
    for (;;) {
      try {
        return await this.createSession(options);
      } catch (error) {
        if (!NOT_YET_REGISTERED.test((error as Error).message) || Date.now() + LOCK_RETRY_MS > deadline || signal?.aborted) throw error;
        await sleep(LOCK_RETRY_MS, signal);
      }
    }
  }

  /** Destroys a session (its locks are released). Absent sessions are fine. */
  async destroySession(id: string): Promise<void> {
    await this.call('session.destroy', CONSUL_STATUSES.session, () => this.consul.session.destroy({ id, ...this.opts() } as never));
  }

  /** Renews a TTL session. */
  async renewSession(id: string): Promise<void> {
    await this.call('session.renew', CONSUL_STATUSES.sessionRenew, () => this.consul.session.renew({ id, ...this.opts() } as never));
  }

  /**
   * Takes an exclusive lock on `key` (Consul's session + `?acquire` recipe): creates a TTL
   * session, tries to acquire, and while someone else holds the key waits on a blocking query
   * until it is released. The session is renewed every TTL/2 while held. Throws
   * `CONSUL_LOCK_TIMEOUT` after `timeoutMs`.
   */
  async lock(key: string, options: LockOptions): Promise<ConsulLock> {
    const deadline = Date.now() + options.timeoutMs;
    const session = await this.createSessionOnceRegistered(deadline, options.signal, {
      name: options.name ?? `cluster-lab lock ${key}`,
      ttl: LOCK_SESSION_TTL,
      lockDelay: LOCK_DELAY,
    });
    try {
      let index = 0;
      let sawFree = false;
      for (;;) {
        const acquired = await this.call(
          'kv.acquire',
          CONSUL_STATUSES.kvWrite,
          () => this.consul.kv.set({ key, value: options.value ?? '', acquire: session, ...this.opts() } as never),
          key,
        );
        if (acquired) break;
        const left = deadline - Date.now();
        if (left <= 0 || options.signal?.aborted) {
          const holder = await this.kv.get(key).catch(() => undefined);
          throw consulError(
            'CONSUL_LOCK_TIMEOUT',
            `lock "${key}" not acquired within ${formatDuration(options.timeoutMs)}${holder?.session ? ` (held by session ${holder.session})` : ''}`,
            { hint: 'another node holds it; it is released when that node finishes or its session expires' },
          );
        }
        // Free but refused: the lock-delay after a dead holder is running; back off briefly.
        if (sawFree) await sleep(Math.min(LOCK_RETRY_MS, left), options.signal);
        // Otherwise wait (blocking query) until the holder releases: the key's index moves.
        const { entry, index: next } = await this.kv.watch(key, index, Math.min(Math.max(1, deadline - Date.now()), 1000), options.signal);
        sawFree = !entry?.session;
        index = sawFree ? 0 : next;
      }
    } catch (error) {
      await this.destroySession(session).catch(() => {});
      throw error;
    }
    const ttlMs = parseSeconds(LOCK_SESSION_TTL);
    const renew = setInterval(() => void this.renewSession(session).catch(() => {}), ttlMs / 2);
    renew.unref();
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      clearInterval(renew);
      try {
        await this.call(
          'kv.release',
          CONSUL_STATUSES.kvWrite,
          () => this.consul.kv.set({ key, value: options.value ?? '', release: session, ...this.opts() } as never),
          key,
        );
      } finally {
        await this.destroySession(session);
      }
    };
    return { key, session, release, [Symbol.asyncDispose]: release };
  }

  /** Registers a service with the local agent (synced to the catalog). Equivalent to `PUT /v1/agent/service/register`. */
  async registerService(service: ServiceRegistration): Promise<void> {
    await this.call('agent.service.register', CONSUL_STATUSES.serviceRegister, () =>
      this.consul.agent.service.register({
        name: service.name,
        id: service.id ?? service.name,
        address: service.address,
        port: service.port,
        tags: service.tags,
        meta: service.meta,
        ...this.opts(),
      } as never),
    );
  }

  /** Removes a service registered with {@link registerService}. */
  async deregisterService(id: string): Promise<void> {
    await this.call('agent.service.deregister', CONSUL_STATUSES.serviceDeregister, () =>
      this.consul.agent.service.deregister({ id, ...this.opts() } as never),
    );
  }

  /** Nodes that provide `service` (catalog). */
  async serviceNodes(service: string): Promise<Array<{ node: string; address: string; port: number; serviceId: string }>> {
    const list = (await this.call('catalog.service.nodes', CONSUL_STATUSES.read, () =>
      this.consul.catalog.service.nodes({ service, ...this.opts() } as never),
    )) as unknown as Array<{
      Node: string;
      Address: string;
      ServiceAddress: string;
      ServicePort: number;
      ServiceID: string;
    }>;
    return list.map((s) => ({ node: s.Node, address: s.ServiceAddress || s.Address, port: s.ServicePort, serviceId: s.ServiceID }));
  }

  /**
   * Removes a failed node from the gossip pool for good (`prune`: no 72 h "left" entry), and a
   * failed server from the Raft peers. Equivalent to `PUT /v1/agent/force-leave/<node>?prune`
   * (`consul force-leave -prune <node>`, Consul ≥ 1.7). A node that is still alive simply rejoins.
   */
  async forceLeave(node: string, options: { prune?: boolean } = {}): Promise<void> {
    const url = `http://${this.address}/v1/agent/force-leave/${encodeURIComponent(node)}${options.prune === false ? '' : '?prune=1'}`;
    await this.call('agent.forceLeave', CONSUL_STATUSES.forceLeave, async () => {
      const response = await fetch(url, {
        method: 'PUT',
        headers: this.token ? { 'x-consul-token': this.token } : {},
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!response.ok) {
        const body = await response.text();
        // Already reaped, or never known: what we asked for.
        if (response.status === 500 && /no node found/i.test(body)) return;
        const error = Object.assign(new Error(`HTTP ${response.status}`), {
          response: { statusCode: response.status, body },
        });
        throw error;
      }
    });
  }

  /** Health of the local agent: identity, leader, its serfHealth check and member counts. */
  async agentHealth(): Promise<AgentHealth> {
    const self = (await this.call('agent.self', CONSUL_STATUSES.read, () => this.consul.agent.self(this.opts() as never))) as unknown as {
      Config: { NodeName: string; Datacenter: string; Server: boolean; Version: string };
    };
    const [leader, members] = await Promise.all([this.leader(), this.members()]);
    let serfHealth: AgentHealth['serfHealth'];
    if (leader) {
      const checks = (await this.call('health.node', CONSUL_STATUSES.read, () =>
        this.consul.health.node({ node: self.Config.NodeName, ...this.opts() } as never),
      )) as unknown as Array<{
        CheckID: string;
        Status: AgentHealth['serfHealth'];
      }>;
      serfHealth = checks.find((c) => c.CheckID === 'serfHealth')?.Status;
    }
    return {
      nodeName: self.Config.NodeName,
      datacenter: self.Config.Datacenter,
      server: self.Config.Server,
      version: self.Config.Version,
      leader,
      serfHealth,
      membersAlive: members.filter((m) => m.status === 'alive').length,
      membersTotal: members.length,
    };
  }

  /**
   * One request to an endpoint this class does not wrap (e.g. the ACL API), failing by
   * `statuses` like every other call. `path` is below `/v1` (`/acl/policies`); `body` is sent as
   * JSON; `token` replaces the client's token for this one request. Returns the decoded body.
   *
   * @example
   * ```ts
   * const self = await client.request('acl.token.self', 'GET', '/acl/token/self', { token: agentToken });
   * ```
   */
  async request<T = unknown>(
    what: string,
    method: 'GET' | 'PUT',
    path: string,
    options: { body?: unknown; token?: string; statuses?: ConsulStatusMap } = {},
  ): Promise<T> {
    const papi = this.consul as unknown as Record<'_get' | '_put', (req: Record<string, unknown>, next: PapiMiddleware) => Promise<T>>;
    const token = options.token ?? this.token;
    const req = {
      name: what,
      path,
      headers: token ? { 'x-consul-token': token } : {},
      timeout: this.timeoutMs,
      ...(options.body !== undefined ? { body: options.body } : {}),
    };
    return this.call(
      what,
      options.statuses ?? CONSUL_STATUSES.read,
      () => papi[method === 'GET' ? '_get' : '_put'](req, decodedBody),
      undefined,
      token,
    );
  }

  private opts(): { timeout: number } {
    return { timeout: this.timeoutMs };
  }

  private async kvRead(key: string, extra: Record<string, unknown>, waitMs = 0, signal?: AbortSignal): Promise<WithResponse<unknown>> {
    const ctx = Object.assign(new EventEmitter(), { includeResponse: true as const }) as Ctx;
    const onAbort = () => ctx.emit('cancel');
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return (await this.call(
        'kv.get',
        CONSUL_STATUSES.kvRead,
        () => this.consul.kv.get({ key, ctx, timeout: this.timeoutMs + waitMs, ...extra } as never),
        key,
      )) as unknown as WithResponse<unknown>;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Runs one request and maps a failure by the call's status map (key names yes, values never):
   * a status the map marks `true` is a success with no value (e.g. deleting what is gone).
   */
  private async call<T>(what: string, statuses: ConsulStatusMap, fn: () => Promise<T>, key?: string, token = this.token): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const mapped = this.mapError(what, statuses, error, key, token);
      if (mapped === true) return undefined as T;
      throw mapped;
    }
  }

  private mapError(what: string, statuses: ConsulStatusMap, error: unknown, key?: string, token = this.token): ClusterLabError | true {
    const e = error as Error & { response?: { statusCode?: number; body?: unknown } };
    const status = e.response?.statusCode;
    const on = key ? ` (key "${key}")` : '';
    if (status === undefined) {
      return consulError(
        'CONSUL_UNREACHABLE',
        `cannot reach Consul at ${this.address} (${what}): ${e.message.replace(/^consul: [\w.]+: /, '')}`,
        {
          hint: 'is the Consul agent running? `cluster-lab health` shows its state',
          cause: error,
        },
      );
    }
    const body = responseText(e.response?.body).trim();
    const failure = lookupStatus(statuses, status, body);
    if (failure === true) return true;
    if (!failure) {
      return consulError('CONSUL_HTTP_ERROR', `Consul at ${this.address}: ${what}${on} failed with HTTP ${status}: ${body || e.message}`, {
        hint: 'see the Consul agent log',
        cause: error,
      });
    }
    const hint = typeof failure.hint === 'string' ? failure.hint : token ? failure.hint.withToken : failure.hint.withoutToken;
    return consulError(failure.code, `Consul at ${this.address}: ${what}${on} failed with HTTP ${status}: ${body || failure.reason}`, {
      hint,
      cause: error,
      ...(failure.errorClass ? { errorClass: failure.errorClass } : {}),
    });
  }
}

type PapiMiddleware = (
  request: { err?: Error & { response?: unknown }; res: { body?: unknown } },
  next: (stop: boolean, err?: unknown, value?: unknown) => void,
) => void;

/** papi middleware: the decoded body, or the error with the response attached (for the status map). */
const decodedBody: PapiMiddleware = (request, next) => {
  if (request.err) {
    request.err.response ??= request.res;
    next(false, request.err);
    return;
  }
  next(false, undefined, request.res.body);
};

function responseText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return '';
}

function toEntry(raw: RawKv): KvEntry {
  const entry: KvEntry = {
    key: raw.Key,
    value: raw.Value ?? '',
    flags: raw.Flags,
    createIndex: raw.CreateIndex,
    modifyIndex: raw.ModifyIndex,
    lockIndex: raw.LockIndex,
  };
  if (raw.Session) entry.session = raw.Session;
  return entry;
}

/** Splits `host:port` (port default 8500); throws `CONSUL_BAD_ADDRESS` on anything else. */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^([^:/\s]+)(?::(\d{1,5}))?$/.exec(address);
  const port = m?.[2] === undefined ? 8500 : Number(m[2]);
  if (!m || port < 1 || port > 65535 || (/^[\d.]+$/.test(m[1] as string) && !isIpv4(m[1] as string))) {
    throw consulError('CONSUL_BAD_ADDRESS', `Consul address ${JSON.stringify(address)} must be host:port, e.g. 192.168.200.1:8500`, {
      errorClass: 'usage',
    });
  }
  return { host: m[1] as string, port };
}

/** "15s" → 15000. */
function parseSeconds(duration: string): number {
  return Number.parseInt(duration, 10) * 1000;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
