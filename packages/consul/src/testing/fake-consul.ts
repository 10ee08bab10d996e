// TEST DOUBLE. This file must only import node built-ins: it is bundled into the fake `consul`
// executable, which runs on any Node >= 18 (inside minimal containers too).
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Serf member status codes as Consul's `/v1/agent/members` reports them. */
export const MEMBER_STATUS = { none: 0, alive: 1, leaving: 2, left: 3, failed: 4 } as const;

/** One gossip member (the shape of an element of `GET /v1/agent/members`). */
export interface FakeMember {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
  ProtocolMin: number;
  ProtocolMax: number;
  ProtocolCur: number;
  DelegateMin: number;
  DelegateMax: number;
  DelegateCur: number;
}

/** What a member is, for {@link FakeConsulState.upsertMember}. */
export interface FakeMemberSpec {
  name: string;
  address: string;
  server: boolean;
  datacenter: string;
  nodeId: string;
  serfPort?: number;
  status?: keyof typeof MEMBER_STATUS;
}

interface KvEntry {
  Key: string;
  Value: Buffer | null;
  Flags: number;
  CreateIndex: number;
  ModifyIndex: number;
  LockIndex: number;
  Session?: string;
}

interface SessionEntry {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: 'release' | 'delete';
  TTL: string;
  NodeChecks: string[];
  ServiceChecks: null;
  CreateIndex: number;
  ModifyIndex: number;
  timer?: NodeJS.Timeout;
}

interface CatalogService {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
}

interface CatalogNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  serfStatus: number;
  services: Map<string, CatalogService>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** An HTTP error the way Consul returns it: a status code and a plain-text body. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const NS_PER_MS = 1_000_000;
/** Consul's default and maximum blocking-query wait. */
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;
/** Consul's default session lock-delay. */
const DEFAULT_LOCK_DELAY_MS = 15_000;

/** Parses a Go duration ("15s", "1m30s", "250ms") or a bare number of nanoseconds. */
export function parseGoDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return value / NS_PER_MS;
  if (/^\d+$/.test(value)) return Number(value) / NS_PER_MS;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of value.matchAll(re)) {
    total += Number(m[1]) * (units[m[2] as string] as number);
    consumed += m[0].length;
  }
  return consumed === value.length && consumed > 0 ? total : undefined;
}

/**
 * The cluster-wide state of a fake Consul datacenter (what real Consul keeps in Raft): KV,
 * sessions, catalog and the gossip member list, with one global Raft-like index. One state
 * serves every {@link FakeConsul} agent that is a server; client agents forward to it.
 */
export class FakeConsulState {
  index = 1;
  private kvIndex = 1;
  private readonly kv = new Map<string, KvEntry>();
  private readonly lockDelays = new Map<string, number>();
  readonly sessions = new Map<string, SessionEntry>();
  readonly nodes = new Map<string, CatalogNode>();
  readonly members = new Map<string, FakeMember & { lastSeen: number }>();
  private readonly waiters = new Set<() => void>();
  /** `host:port` of the Raft leader's server RPC address; undefined = no leader elected. */
  leader: string | undefined;
  /** Server RPC addresses (`/v1/status/peers`). */
  readonly peers = new Set<string>();
  /** ACL tokens created through `PUT /v1/acl/token`, by SecretID. */
  readonly aclTokens = new Map<string, { AccessorID: string; SecretID: string; Description: string }>();
  /** ACL policies created through `PUT /v1/acl/policy`, by ID. */
  readonly aclPolicies = new Map<string, { ID: string; Name: string; Description: string; Rules: string }>();

  constructor(readonly datacenter = 'dc1') {}

  /** Bumps the index and wakes blocking queries. */
  private bump(): number {
    this.index += 1;
    // Wake blocking queries after the caller has finished its (synchronous) mutation.
    queueMicrotask(() => {
      for (const w of [...this.waiters]) w();
    });
    return this.index;
  }

  /** Waits until `current()` exceeds `minIndex` or `waitMs` passes (a blocking query). */
  async block(minIndex: number, waitMs: number, current: () => number, signal?: AbortSignal): Promise<void> {
    if (minIndex <= 0 || current() > minIndex) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const check = () => {
        if (current() > minIndex) done();
      };
      const timer = setTimeout(done, waitMs);
      this.waiters.add(check);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  // ---- KV -----------------------------------------------------------------------------------

  kvGet(key: string): KvEntry | undefined {
    return this.kv.get(key);
  }

  kvList(prefix: string): KvEntry[] {
    return [...this.kv.values()].filter((e) => e.Key.startsWith(prefix)).sort((a, b) => (a.Key < b.Key ? -1 : 1));
  }

  /** The index a KV read reports: the key's ModifyIndex, or the KV table index when absent. */
  kvReadIndex(key: string, recurse: boolean): number {
    if (!recurse) return this.kv.get(key)?.ModifyIndex ?? this.kvIndex;
    const list = this.kvList(key);
    return list.length === 0 ? this.kvIndex : Math.max(this.kvIndex, ...list.map((e) => e.ModifyIndex));
  }

  /** PUT /v1/kv/:key with the `cas`, `acquire`, `release` and `flags` semantics of Consul. */
  kvPut(key: string, value: Buffer, opts: { flags?: number; cas?: number; acquire?: string; release?: string }): boolean {
    const existing = this.kv.get(key);
    if (opts.cas !== undefined) {
      if (opts.cas === 0 && existing) return false;
      if (opts.cas !== 0 && existing?.ModifyIndex !== opts.cas) return false;
    }
    if (opts.acquire !== undefined) {
      const session = this.sessions.get(opts.acquire);
      if (!session) throw new HttpError(500, `invalid session "${opts.acquire}"`);
      if (existing?.Session && existing.Session !== opts.acquire) return false;
      const delayUntil = this.lockDelays.get(key);
      if (!existing?.Session && delayUntil !== undefined && Date.now() < delayUntil) return false;
      const index = this.bump();
      this.kvIndex = index;
      const same = existing?.Session === opts.acquire;
      this.kv.set(key, {
        Key: key,
        Value: value,
        Flags: opts.flags ?? existing?.Flags ?? 0,
        CreateIndex: existing?.CreateIndex ?? index,
        ModifyIndex: index,
        LockIndex: (existing?.LockIndex ?? 0) + (same ? 0 : 1),
        Session: opts.acquire,
      });
      return true;
    }
    if (opts.release !== undefined) {
      if (!this.sessions.has(opts.release)) throw new HttpError(500, `invalid session "${opts.release}"`);
      if (!existing || existing.Session !== opts.release) return false;
      const index = this.bump();
      this.kvIndex = index;
      this.kv.set(key, { ...existing, Value: value, Flags: opts.flags ?? existing.Flags, ModifyIndex: index, Session: undefined });
      return true;
    }
    const index = this.bump();
    this.kvIndex = index;
    this.kv.set(key, {
      Key: key,
      Value: value,
      Flags: opts.flags ?? 0,
      CreateIndex: existing?.CreateIndex ?? index,
      ModifyIndex: index,
      LockIndex: existing?.LockIndex ?? 0,
      Session: existing?.Session,
    });
    return true;
  }

  /** DELETE /v1/kv/:key (`recurse`, `cas`). */
  kvDelete(key: string, opts: { recurse?: boolean; cas?: number }): boolean {
    if (opts.cas !== undefined) {
      const existing = this.kv.get(key);
      if (!existing) return opts.cas === 0;
      if (existing.ModifyIndex !== opts.cas) return false;
    }
    const doomed = opts.recurse ? this.kvList(key).map((e) => e.Key) : this.kv.has(key) ? [key] : [];
    const index = this.bump();
    this.kvIndex = index;
    for (const k of doomed) this.kv.delete(k);
    return true;
  }

  // ---- sessions -----------------------------------------------------------------------------

  sessionCreate(body: Record<string, unknown>, defaultNode: string): string {
    const node = typeof body.Node === 'string' && body.Node ? body.Node : defaultNode;
    const n = this.nodes.get(node);
    if (!n) throw new HttpError(500, `Missing node registration`);
    if (n.serfStatus !== MEMBER_STATUS.alive) throw new HttpError(500, `Check 'serfHealth' is in critical state`);
    const ttl = typeof body.TTL === 'string' ? body.TTL : '';
    let ttlMs: number | undefined;
    if (ttl) {
      ttlMs = parseGoDuration(ttl);
      if (ttlMs === undefined) throw new HttpError(400, `Request decode failed: time: invalid duration "${ttl}"`);
      if (ttlMs !== 0 && (ttlMs < 10_000 || ttlMs > 86_400_000)) {
        throw new HttpError(400, `Invalid Session TTL '${ttlMs * NS_PER_MS}', must be between [10s=24h0m0s]`);
      }
    }
    const lockDelayRaw = body.LockDelay;
    let lockDelay = DEFAULT_LOCK_DELAY_MS * NS_PER_MS;
    if (typeof lockDelayRaw === 'string' || typeof lockDelayRaw === 'number') {
      const ms = parseGoDuration(lockDelayRaw);
      if (ms === undefined) throw new HttpError(400, `Request decode failed: time: invalid duration "${lockDelayRaw}"`);
      lockDelay = Math.min(ms, 60_000) * NS_PER_MS;
    }
    const behavior = body.Behavior === 'delete' ? 'delete' : 'release';
    const index = this.bump();
    const session: SessionEntry = {
      ID: randomUUID(),
      Name: typeof body.Name === 'string' ? body.Name : '',
      Node: node,
      LockDelay: lockDelay,
      Behavior: behavior,
      TTL: ttl,
      NodeChecks: ['serfHealth'],
      ServiceChecks: null,
      CreateIndex: index,
      ModifyIndex: index,
    };
    this.sessions.set(session.ID, session);
    if (ttlMs) this.armTtl(session, ttlMs);
    return session.ID;
  }

  /** Consul invalidates a TTL session between TTL and 2×TTL after the last renewal. */
  private armTtl(session: SessionEntry, ttlMs: number): void {
    if (session.timer) clearTimeout(session.timer);
    session.timer = setTimeout(() => this.sessionDestroy(session.ID), ttlMs * 2);
    session.timer.unref?.();
  }

  sessionRenew(id: string): SessionEntry | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const ttlMs = s.TTL ? parseGoDuration(s.TTL) : undefined;
    if (ttlMs) this.armTtl(s, ttlMs);
    return s;
  }

  /** Invalidates a session: its locks are released (or keys deleted) and held under lock-delay. */
  sessionDestroy(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    if (s.timer) clearTimeout(s.timer);
    this.sessions.delete(id);
    const index = this.bump();
    for (const entry of [...this.kv.values()]) {
      if (entry.Session !== id) continue;
      if (s.LockDelay > 0) this.lockDelays.set(entry.Key, Date.now() + s.LockDelay / NS_PER_MS);
      if (s.Behavior === 'delete') this.kv.delete(entry.Key);
      else this.kv.set(entry.Key, { ...entry, Session: undefined, ModifyIndex: index });
      this.kvIndex = index;
    }
  }

  sessionView(s: SessionEntry): Record<string, unknown> {
    const { timer: _timer, ...rest } = s;
    return rest;
  }

  // ---- catalog and members -------------------------------------------------------------------

  /** Adds or refreshes a gossip member and its catalog node (as the leader's reconcile loop does). */
  upsertMember(spec: FakeMemberSpec, version: string): void {
    const status = MEMBER_STATUS[spec.status ?? 'alive'];
    const tags: Record<string, string> = {
      acls: '0',
      build: `${version}:fake`,
      dc: spec.datacenter,
      ft_fs: '1',
      ft_si: '1',
      id: spec.nodeId,
      role: spec.server ? 'consul' : 'node',
      segment: '',
      vsn: '2',
      vsn_max: '3',
      vsn_min: '2',
    };
    if (spec.server) Object.assign(tags, { port: '8300', raft_vsn: '3', expect: '1', wan_join_port: '8302' });
    const prev = this.members.get(spec.name);
    const member = {
      Name: spec.name,
      Addr: spec.address,
      Port: spec.serfPort ?? 8301,
      Tags: tags,
      Status: status,
      ProtocolMin: 1,
      ProtocolMax: 5,
      ProtocolCur: 2,
      DelegateMin: 2,
      DelegateMax: 5,
      DelegateCur: 4,
      lastSeen: Date.now(),
    };
    this.members.set(spec.name, member);
    const changed = !prev || prev.Status !== status || prev.Addr !== spec.address;
    const node = this.nodes.get(spec.name);
    if (!node || changed) {
      const index = this.bump();
      const services = node?.services ?? new Map<string, CatalogService>();
      if (spec.server && !services.has('consul')) {
        services.set('consul', {
          ID: 'consul',
          Service: 'consul',
          Tags: [],
          Address: '',
          Port: 8300,
          Meta: {},
          CreateIndex: index,
          ModifyIndex: index,
        });
      }
      this.nodes.set(spec.name, {
        ID: spec.nodeId,
        Node: spec.name,
        Address: spec.address,
        Datacenter: spec.datacenter,
        serfStatus: status,
        services,
        CreateIndex: node?.CreateIndex ?? index,
        ModifyIndex: index,
      });
      if (status !== MEMBER_STATUS.alive) this.invalidateNodeSessions(spec.name);
    }
  }

  /** Marks a member left/failed; its sessions are invalidated (serfHealth went critical). */
  setMemberStatus(name: string, status: keyof typeof MEMBER_STATUS): void {
    const m = this.members.get(name);
    if (!m || m.Status === MEMBER_STATUS[status]) return;
    m.Status = MEMBER_STATUS[status];
    const node = this.nodes.get(name);
    const index = this.bump();
    if (node) Object.assign(node, { serfStatus: m.Status, ModifyIndex: index });
    if (m.Status !== MEMBER_STATUS.alive) this.invalidateNodeSessions(name);
  }

  private invalidateNodeSessions(node: string): void {
    for (const s of [...this.sessions.values()]) if (s.Node === node) this.sessionDestroy(s.ID);
  }

  /** Marks members whose last heartbeat is older than `maxAgeMs` as failed. */
  reapMembers(maxAgeMs: number, except: string): void {
    const now = Date.now();
    for (const m of this.members.values()) {
      if (m.Name !== except && m.Status === MEMBER_STATUS.alive && now - m.lastSeen > maxAgeMs) this.setMemberStatus(m.Name, 'failed');
    }
  }

  registerService(
    nodeName: string,
    svc: { ID: string; Service: string; Tags?: string[]; Address?: string; Port?: number; Meta?: Record<string, string> },
  ): void {
    const node = this.nodes.get(nodeName);
    if (!node) throw new HttpError(500, `Missing node registration`);
    const index = this.bump();
    const prev = node.services.get(svc.ID);
    node.services.set(svc.ID, {
      ID: svc.ID,
      Service: svc.Service,
      Tags: svc.Tags ?? [],
      Address: svc.Address ?? '',
      Port: svc.Port ?? 0,
      Meta: svc.Meta ?? {},
      CreateIndex: prev?.CreateIndex ?? index,
      ModifyIndex: index,
    });
  }

  deregisterService(nodeName: string, id: string): void {
    const node = this.nodes.get(nodeName);
    if (node?.services.delete(id)) this.bump();
  }
}

/** Options of {@link FakeConsul}. */
export interface FakeConsulOptions {
  /** Node name of this agent. Default `fake-node`. */
  nodeName?: string;
  /** Node id (UUID). Default: random. */
  nodeId?: string;
  datacenter?: string;
  /** Advertised (cluster) address of this agent. Default `127.0.0.1`. */
  address?: string;
  /** Server or client agent. Default true. */
  server?: boolean;
  /**
   * Cluster state to serve. Default: a new one in which this agent is the only member and the
   * elected leader (a single-server cluster). Pass one state to several agents to share it.
   */
  state?: FakeConsulState;
  /**
   * Forward cluster requests (KV, sessions, catalog, status, members) to this base URL
   * (`http://host:port`), like a client agent does over RPC to a server. Replaces `state` for them.
   */
  upstream?: string;
  /**
   * When set, every request except `/v1/status/*` needs this token (`X-Consul-Token`, `?token=`,
   * or Bearer) or one created through `PUT /v1/acl/token`. A client agent (with `upstream`)
   * forwards cluster requests unchecked — its server checks them — and takes any non-empty token
   * for its own agent endpoints: it does not know the cluster's tokens.
   */
  aclToken?: string;
  /** Version reported by `/v1/agent/self`. Default `1.20.0`. */
  version?: string;
  /** Called by `PUT /v1/agent/join/:address`; rejects → 500 with its message. */
  onJoin?: (address: string) => Promise<void>;
  /** Called by `PUT /v1/agent/leave` after the response is sent. */
  onLeave?: () => void;
  /** Receives one line per request (method, path, status) — never bodies or values. */
  log?: (line: string) => void;
}

/** Where a {@link FakeConsul} listens. */
export interface FakeConsulAddress {
  host: string;
  port: number;
  /** `http://host:port` — what `new Consul({ host, port })` talks to. */
  url: string;
}

/**
 * A TEST DOUBLE of the HashiCorp Consul agent's HTTP API: a real `node:http` server answering
 * the subset Cluster Lab uses with Consul's documented shapes, status codes and headers
 * (`X-Consul-Index`, blocking `?index=&wait=`, base64 `Value`, CAS, sessions with
 * acquire/release and lock-delay, catalog, agent service registration). The `consul` npm client
 * works against it unmodified. It is not Consul: no Raft, no gossip, no DNS.
 *
 * @example
 * ```ts
 * const fake = new FakeConsul({ nodeName: 'node1', datacenter: 'lab' });
 * const { host, port } = await fake.listen();
 * const consul = new Consul({ host, port });
 * await consul.kv.set('a', 'b');
 * await fake.close();
 * ```
 */
export class FakeConsul {
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  readonly address: string;
  readonly server: boolean;
  readonly version: string;
  readonly state: FakeConsulState;
  upstream: string | undefined;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();
  private readonly aborts = new Set<AbortController>();
  private readonly localServices = new Map<string, Record<string, unknown>>();
  private httpPort = 0;

  constructor(private readonly options: FakeConsulOptions = {}) {
    this.nodeName = options.nodeName ?? 'fake-node';
    this.nodeId = options.nodeId ?? randomUUID();
    this.datacenter = options.datacenter ?? 'dc1';
    this.address = options.address ?? '127.0.0.1';
    this.server = options.server ?? true;
    this.version = options.version ?? '1.20.0';
    this.upstream = options.upstream;
    if (options.state) {
      this.state = options.state;
    } else {
      this.state = new FakeConsulState(this.datacenter);
      this.state.upsertMember(this.memberSpec(), this.version);
      if (this.server) {
        this.state.leader = `${this.address}:8300`;
        this.state.peers.add(`${this.address}:8300`);
      }
    }
  }

  /** This agent as a gossip member. */
  memberSpec(): FakeMemberSpec {
    return { name: this.nodeName, address: this.address, server: this.server, datacenter: this.datacenter, nodeId: this.nodeId };
  }

  /** Starts listening (default: an ephemeral port on 127.0.0.1). Call again to add addresses. */
  async listen(port = 0, host = '127.0.0.1'): Promise<FakeConsulAddress> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
    const addr = server.address() as AddressInfo;
    if (this.httpPort === 0) this.httpPort = addr.port;
    return { host, port: addr.port, url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}` };
  }

  /** Stops every listener, ending pending blocking queries. Safe twice. */
  async close(): Promise<void> {
    for (const a of this.aborts) a.abort();
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            for (const socket of this.sockets) socket.destroy();
          }),
      ),
    );
  }

  /** Handles one request; usable as a `node:http` request listener on any server. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    this.aborts.add(abort);
    res.once('close', () => {
      abort.abort();
      this.aborts.delete(abort);
    });
    const url = new URL(req.url ?? '/', 'http://fake');
    let status = 200;
    try {
      const body = await readBody(req);
      const reply = await this.route(req, res, url, body, abort.signal);
      if (reply === FORWARDED) return;
      status = reply.status ?? 200;
      for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
      if (reply.raw !== undefined) {
        res.writeHead(status, { 'Content-Type': reply.contentType ?? 'text/plain', 'Content-Length': reply.raw.length });
        res.end(reply.raw);
      } else if (reply.json !== undefined) {
        const text = url.searchParams.has('pretty') ? JSON.stringify(reply.json, null, 4) : JSON.stringify(reply.json);
        res.writeHead(status, { 'Content-Type': 'application/json', Vary: 'Accept-Encoding' });
        res.end(text);
      } else {
        res.writeHead(status);
        res.end();
      }
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(message);
    } finally {
      this.options.log?.(`${req.method} ${url.pathname} ${status}`);
    }
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: Buffer,
    signal: AbortSignal,
  ): Promise<Reply | typeof FORWARDED> {
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(url.pathname);
    const q = url.searchParams;
    if (path.startsWith('/v1/status/')) {
      if (this.upstream) return this.forward(req, res, url, body);
      if (path === '/v1/status/leader') return { json: this.state.leader ?? '' };
      if (path === '/v1/status/peers') return { json: [...this.state.peers] };
    }
    const forwardable = /^\/v1\/(kv|session|catalog|health|acl|agent\/members)(\/|$)/.test(path);
    if (!(this.upstream && forwardable)) this.checkToken(req, q);
    // Agent-local endpoints.
    if (path.startsWith('/v1/agent/token/') && method === 'PUT') return {};
    if (path === '/v1/agent/self' && method === 'GET') return { json: this.agentSelf() };
    if (path === '/v1/agent/services' && method === 'GET') return { json: Object.fromEntries(this.localServices) };
    if (path === '/v1/agent/service/register' && method === 'PUT') return this.agentServiceRegister(body);
    if (path.startsWith('/v1/agent/service/deregister/') && method === 'PUT') {
      const id = path.slice('/v1/agent/service/deregister/'.length);
      if (!this.localServices.delete(id))
        throw new HttpError(404, `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`);
      await this.syncCatalog('deregister', { Node: this.nodeName, ServiceID: id });
      return {};
    }
    if (path.startsWith('/v1/agent/join/') && method === 'PUT') {
      const address = path.slice('/v1/agent/join/'.length);
      if (!this.options.onJoin) throw new HttpError(500, 'agent: join is not supported by this fake');
      await this.options.onJoin(address);
      return {};
    }
    if (path === '/v1/agent/leave' && method === 'PUT') {
      this.state.setMemberStatus(this.nodeName, 'left');
      setImmediate(() => this.options.onLeave?.());
      return {};
    }
    // Cluster endpoints: a client agent forwards them to a server (Consul does this over RPC).
    if (this.upstream && forwardable) {
      // A client agent fills in its own node name before handing a session to the servers.
      if (path === '/v1/session/create') {
        const parsed = body.length ? parseJson(body) : {};
        if (!parsed.Node) parsed.Node = this.nodeName;
        return this.forward(req, res, url, Buffer.from(JSON.stringify(parsed)));
      }
      return this.forward(req, res, url, body);
    }
    if (path === '/v1/agent/members' && method === 'GET') return this.agentMembers(q);
    const needsLeader = /^\/v1\/(kv|session|catalog|health)(\/|$)/.test(path);
    if (needsLeader && !this.state.leader) throw new HttpError(500, 'No cluster leader');
    if (path.startsWith('/v1/kv/') || path === '/v1/kv') return this.kv(method, path.slice('/v1/kv/'.length), q, body, signal);
    if (path.startsWith('/v1/acl/')) return this.acl(req, method, path, q, body);
    if (path === '/v1/session/create' && method === 'PUT') {
      const parsed = body.length ? parseJson(body) : {};
      return { json: { ID: this.state.sessionCreate(parsed, this.nodeName) } };
    }
    if (path.startsWith('/v1/session/destroy/') && method === 'PUT') {
      this.state.sessionDestroy(path.slice('/v1/session/destroy/'.length));
      return { json: true };
    }
    if (path.startsWith('/v1/session/renew/') && method === 'PUT') {
      const id = path.slice('/v1/session/renew/'.length);
      const s = this.state.sessionRenew(id);
      if (!s) throw new HttpError(404, `Session id '${id}' not found`);
      return { json: [this.state.sessionView(s)], headers: this.meta(this.state.index) };
    }
    if (path.startsWith('/v1/session/info/') && method === 'GET') {
      const s = this.state.sessions.get(path.slice('/v1/session/info/'.length));
      return { json: s ? [this.state.sessionView(s)] : [], headers: this.meta(this.state.index) };
    }
    if (path === '/v1/session/list' && method === 'GET') {
      return { json: [...this.state.sessions.values()].map((s) => this.state.sessionView(s)), headers: this.meta(this.state.index) };
    }
    if (path.startsWith('/v1/catalog/') || path.startsWith('/v1/health/')) return this.catalog(method, path, q, body, signal);
    if (['/v1/agent/self', '/v1/agent/services', '/v1/agent/members', '/v1/agent/leave'].includes(path)) {
      throw new HttpError(405, `method ${method} not allowed`);
    }
    throw new HttpError(404, `Invalid URL path: not a recognized HTTP API endpoint (fake consul): ${path}`);
  }

  private checkToken(req: IncomingMessage, q: URLSearchParams): void {
    const want = this.options.aclToken;
    if (!want) return;
    const token = requestToken(req, q);
    if (token === undefined || token === '') throw new HttpError(403, 'Permission denied: anonymous token lacks permission');
    if (token !== want && !this.state.aclTokens.has(token) && !this.upstream) throw new HttpError(403, 'ACL not found');
  }

  /** The ACL endpoints Cluster Lab uses: token self-lookup, policy list/create/update, token create. */
  private acl(req: IncomingMessage, method: string, path: string, q: URLSearchParams, body: Buffer): Reply {
    if (!this.options.aclToken) throw new HttpError(401, 'ACL support disabled');
    const acl = this.state;
    if (path === '/v1/acl/token/self' && method === 'GET') {
      const token = requestToken(req, q) ?? '';
      const found = acl.aclTokens.get(token);
      return { json: found ?? { AccessorID: '00000000-0000-4000-8000-000000000001', SecretID: token, Description: 'configured token' } };
    }
    if (path === '/v1/acl/policies' && method === 'GET') return { json: [...acl.aclPolicies.values()].map(({ Rules: _, ...p }) => p) };
    if (path === '/v1/acl/policy' && method === 'PUT') {
      const p = parseJson(body) as { Name?: string; Description?: string; Rules?: string };
      if (!p.Name) throw new HttpError(400, 'Invalid Policy: no Name is set');
      if ([...acl.aclPolicies.values()].some((x) => x.Name === p.Name))
        throw new HttpError(500, `Invalid Policy: A Policy with Name "${p.Name}" already exists`);
      const policy = { ID: randomUUID(), Name: p.Name, Description: p.Description ?? '', Rules: p.Rules ?? '' };
      acl.aclPolicies.set(policy.ID, policy);
      return { json: policy };
    }
    if (path.startsWith('/v1/acl/policy/') && method === 'PUT') {
      const id = path.slice('/v1/acl/policy/'.length);
      const current = acl.aclPolicies.get(id);
      if (!current) throw new HttpError(404, 'Cannot find policy to update');
      const p = parseJson(body) as { Description?: string; Rules?: string };
      const policy = { ...current, Description: p.Description ?? current.Description, Rules: p.Rules ?? current.Rules };
      acl.aclPolicies.set(id, policy);
      return { json: policy };
    }
    if (path === '/v1/acl/token' && method === 'PUT') {
      const t = parseJson(body) as { SecretID?: string; Description?: string };
      const secret = t.SecretID ?? randomUUID();
      if (acl.aclTokens.has(secret) || secret === this.options.aclToken)
        throw new HttpError(500, 'Invalid Token: SecretID is already in use');
      const token = { AccessorID: randomUUID(), SecretID: secret, Description: t.Description ?? '' };
      acl.aclTokens.set(secret, token);
      return { json: token };
    }
    throw new HttpError(405, `method ${method} not allowed`);
  }

  private meta(index: number): Record<string, string> {
    return {
      'X-Consul-Index': String(Math.max(1, index)),
      'X-Consul-KnownLeader': this.state.leader ? 'true' : 'false',
      'X-Consul-LastContact': '0',
    };
  }

  private async blockingRead(q: URLSearchParams, current: () => number, signal: AbortSignal): Promise<void> {
    const index = q.get('index');
    if (index === null || index === '') return;
    if (!/^\d+$/.test(index)) throw new HttpError(400, 'Invalid index');
    let waitMs = DEFAULT_WAIT_MS;
    const wait = q.get('wait');
    if (wait) {
      const parsed = parseGoDuration(wait);
      if (parsed === undefined) throw new HttpError(400, 'Invalid wait time');
      waitMs = Math.min(parsed, MAX_WAIT_MS);
    }
    // Consul adds up to wait/16 of jitter so that many watchers do not wake at once.
    waitMs += Math.floor(Math.random() * (waitMs / 16));
    await this.state.block(Number(index), waitMs, current, signal);
  }

  private async kv(method: string, key: string, q: URLSearchParams, body: Buffer, signal: AbortSignal): Promise<Reply> {
    const recurse = q.has('recurse');
    const num = (name: string): number | undefined => {
      const v = q.get(name);
      if (v === null) return undefined;
      if (!/^\d+$/.test(v)) throw new HttpError(400, `strconv.ParseUint: parsing "${v}": invalid syntax`);
      return Number(v);
    };
    if (method === 'GET') {
      if (q.has('keys')) {
        await this.blockingRead(q, () => this.state.kvReadIndex(key, true), signal);
        const sep = q.get('separator') ?? '';
        const keys = new Set<string>();
        for (const e of this.state.kvList(key)) {
          const rest = e.Key.slice(key.length);
          const cut = sep ? rest.indexOf(sep) : -1;
          keys.add(cut >= 0 ? e.Key.slice(0, key.length + cut + sep.length) : e.Key);
        }
        const headers = this.meta(this.state.kvReadIndex(key, true));
        if (keys.size === 0 && key !== '') return { status: 404, headers };
        return { json: [...keys], headers };
      }
      if (!recurse && key === '') throw new HttpError(400, 'Missing key name');
      await this.blockingRead(q, () => this.state.kvReadIndex(key, recurse), signal);
      const headers = this.meta(this.state.kvReadIndex(key, recurse));
      const entries = recurse ? this.state.kvList(key) : [this.state.kvGet(key)].filter((e): e is KvEntry => e !== undefined);
      if (entries.length === 0) return { status: 404, headers };
      if (q.has('raw') && !recurse) {
        return {
          raw: entries[0]?.Value ?? Buffer.alloc(0),
          contentType: 'text/plain',
          headers: { ...headers, 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': 'sandbox' },
        };
      }
      return { json: entries.map(kvView), headers };
    }
    if (method === 'PUT') {
      if (key === '') throw new HttpError(400, 'Missing key name');
      const flagsGiven = ['cas', 'acquire', 'release'].filter((f) => q.has(f));
      if (flagsGiven.length > 1) throw new HttpError(400, `Conflicting flags: ${goEncode(q)}\n`);
      const acquire = q.get('acquire') ?? undefined;
      const release = q.get('release') ?? undefined;
      return { json: this.state.kvPut(key, body, { flags: num('flags'), cas: num('cas'), acquire, release }) };
    }
    if (method === 'DELETE') {
      if (!recurse && key === '') throw new HttpError(400, 'Missing key name');
      if (recurse && q.has('cas')) throw new HttpError(400, `Conflicting flags: ${goEncode(q)}\n`);
      return { json: this.state.kvDelete(key, { recurse, cas: num('cas') }) };
    }
    throw new HttpError(405, `method ${method} not allowed`);
  }

  private async catalog(method: string, path: string, q: URLSearchParams, body: Buffer, signal: AbortSignal): Promise<Reply> {
    const st = this.state;
    const current = () => st.index;
    if (method === 'PUT' && path === '/v1/catalog/register') {
      const b = parseJson(body);
      const node = String(b.Node ?? '');
      if (!node) throw new HttpError(400, 'Must provide node');
      const svc = (b.Service ?? undefined) as Record<string, unknown> | undefined;
      if (svc) {
        st.registerService(node, {
          ID: String(svc.ID ?? svc.Service),
          Service: String(svc.Service),
          Tags: (svc.Tags as string[] | undefined) ?? [],
          Address: String(svc.Address ?? ''),
          Port: Number(svc.Port ?? 0),
          Meta: (svc.Meta as Record<string, string> | undefined) ?? {},
        });
      }
      return { json: true };
    }
    if (method === 'PUT' && path === '/v1/catalog/deregister') {
      const b = parseJson(body);
      if (b.ServiceID) st.deregisterService(String(b.Node), String(b.ServiceID));
      return { json: true };
    }
    if (method !== 'GET') throw new HttpError(405, `method ${method} not allowed`);
    await this.blockingRead(q, current, signal);
    const headers = this.meta(st.index);
    const nodeView = (n: CatalogNode) => ({
      ID: n.ID,
      Node: n.Node,
      Address: n.Address,
      Datacenter: n.Datacenter,
      TaggedAddresses: { lan: n.Address, lan_ipv4: n.Address, wan: n.Address, wan_ipv4: n.Address },
      Meta: { 'consul-network-segment': '', 'consul-version': this.version },
      CreateIndex: n.CreateIndex,
      ModifyIndex: n.ModifyIndex,
    });
    const nodes = [...st.nodes.values()].filter((n) => n.serfStatus !== MEMBER_STATUS.left).sort((a, b) => (a.Node < b.Node ? -1 : 1));
    if (path === '/v1/catalog/datacenters') return { json: [st.datacenter] };
    if (path === '/v1/catalog/nodes') return { json: nodes.map(nodeView), headers };
    if (path === '/v1/catalog/services') {
      const out: Record<string, string[]> = {};
      for (const n of nodes) for (const s of n.services.values()) out[s.Service] = [...new Set([...(out[s.Service] ?? []), ...s.Tags])];
      return { json: out, headers };
    }
    if (path.startsWith('/v1/catalog/service/')) {
      const name = path.slice('/v1/catalog/service/'.length);
      const tag = q.get('tag');
      const out = [];
      for (const n of nodes) {
        for (const s of n.services.values()) {
          if (s.Service !== name || (tag && !s.Tags.includes(tag))) continue;
          const v = nodeView(n);
          out.push({
            ID: v.ID,
            Node: v.Node,
            Address: v.Address,
            Datacenter: v.Datacenter,
            TaggedAddresses: v.TaggedAddresses,
            NodeMeta: v.Meta,
            ServiceKind: '',
            ServiceID: s.ID,
            ServiceName: s.Service,
            ServiceTags: s.Tags,
            ServiceAddress: s.Address,
            ServiceTaggedAddresses: null,
            ServiceWeights: { Passing: 1, Warning: 1 },
            ServiceMeta: s.Meta,
            ServicePort: s.Port,
            ServiceEnableTagOverride: false,
            ServiceProxy: { Mode: '', MeshGateway: {}, Expose: {} },
            ServiceConnect: {},
            CreateIndex: s.CreateIndex,
            ModifyIndex: s.ModifyIndex,
          });
        }
      }
      return { json: out, headers };
    }
    if (path.startsWith('/v1/catalog/node/')) {
      const n = st.nodes.get(path.slice('/v1/catalog/node/'.length));
      if (!n) return { json: null, headers };
      const services: Record<string, unknown> = {};
      for (const s of n.services.values())
        services[s.ID] = { ...s, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Datacenter: st.datacenter };
      return { json: { Node: nodeView(n), Services: services }, headers };
    }
    if (path.startsWith('/v1/health/node/')) {
      const n = st.nodes.get(path.slice('/v1/health/node/'.length));
      if (!n) return { json: [], headers };
      const alive = n.serfStatus === MEMBER_STATUS.alive;
      return {
        json: [
          {
            Node: n.Node,
            CheckID: 'serfHealth',
            Name: 'Serf Health Status',
            Status: alive ? 'passing' : 'critical',
            Notes: '',
            Output: alive ? 'Agent alive and reachable' : 'Agent not live or unreachable',
            ServiceID: '',
            ServiceName: '',
            ServiceTags: [],
            Type: '',
            Interval: '',
            Timeout: '',
            ExposedPort: 0,
            Definition: {},
            CreateIndex: n.CreateIndex,
            ModifyIndex: n.ModifyIndex,
          },
        ],
        headers,
      };
    }
    throw new HttpError(404, `Invalid URL path: not a recognized HTTP API endpoint (fake consul): ${path}`);
  }

  private agentMembers(q: URLSearchParams): Reply {
    if (q.has('wan')) {
      const servers = [...this.state.members.values()].filter((m) => m.Tags.role === 'consul');
      return { json: servers.map(({ lastSeen: _l, ...m }) => ({ ...m, Name: `${m.Name}.${this.datacenter}`, Port: 8302 })) };
    }
    return { json: [...this.state.members.values()].map(({ lastSeen: _l, ...m }) => m) };
  }

  private agentSelf(): Record<string, unknown> {
    const member = this.state.members.get(this.nodeName);
    const { lastSeen: _l, ...memberView } = member ?? { lastSeen: 0 };
    return {
      Config: {
        Datacenter: this.datacenter,
        PrimaryDatacenter: this.datacenter,
        NodeName: this.nodeName,
        NodeID: this.nodeId,
        Partition: '',
        Revision: 'fake',
        Server: this.server,
        Version: this.version,
        BuildDate: '2026-01-01T00:00:00Z',
      },
      DebugConfig: { Note: 'TEST DOUBLE: cluster-lab FakeConsul, not HashiCorp Consul' },
      Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 },
      Member: member ? memberView : null,
      Stats: {
        agent: { check_monitors: '0', checks: '0', services: String(this.localServices.size) },
        consul: this.server
          ? { server: 'true', leader: String(this.state.leader === `${this.address}:8300`), known_datacenters: '1' }
          : { server: 'false', known_servers: '1' },
        runtime: { arch: process.arch === 'x64' ? 'amd64' : process.arch, os: process.platform, version: 'fake' },
      },
      Meta: { 'consul-network-segment': '', 'consul-version': this.version },
      xDS: { SupportedProxies: {}, Port: -1, Ports: { Plaintext: -1, TLS: -1 } },
    };
  }

  private async agentServiceRegister(body: Buffer): Promise<Reply> {
    const b = parseJson(body);
    const name = b.Name;
    if (typeof name !== 'string' || !name) throw new HttpError(400, 'Invalid Service Meta: Missing service name');
    const id = typeof b.ID === 'string' && b.ID ? b.ID : name;
    const svc = {
      ID: id,
      Service: name,
      Tags: (b.Tags as string[] | undefined) ?? [],
      Meta: (b.Meta as Record<string, string> | undefined) ?? {},
      Port: Number(b.Port ?? 0),
      Address: typeof b.Address === 'string' ? b.Address : '',
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Datacenter: this.datacenter,
    };
    this.localServices.set(id, svc);
    // Anti-entropy: the agent syncs its services into the catalog.
    await this.syncCatalog('register', { Node: this.nodeName, Address: this.address, Service: svc });
    return {};
  }

  private async syncCatalog(op: 'register' | 'deregister', payload: Record<string, unknown>): Promise<void> {
    if (this.upstream) {
      await forwardJson(`${this.upstream}/v1/catalog/${op}`, payload, this.options.aclToken);
      return;
    }
    const svc = payload.Service as Record<string, unknown> | undefined;
    if (op === 'register' && svc) {
      this.state.registerService(this.nodeName, {
        ID: String(svc.ID),
        Service: String(svc.Service),
        Tags: svc.Tags as string[],
        Address: String(svc.Address),
        Port: Number(svc.Port),
        Meta: svc.Meta as Record<string, string>,
      });
    } else if (op === 'deregister') {
      this.state.deregisterService(this.nodeName, String(payload.ServiceID));
    }
  }

  private forward(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<typeof FORWARDED> {
    const target = new URL(`${url.pathname}${url.search}`, this.upstream);
    return new Promise((resolve) => {
      const out = httpRequest(
        target,
        { method: req.method, headers: { ...req.headers, host: target.host, 'content-length': String(body.length) } },
        (up) => {
          res.writeHead(up.statusCode ?? 500, up.headers);
          up.pipe(res);
          up.once('end', () => resolve(FORWARDED));
        },
      );
      out.once('error', (error) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`rpc error making call: ${error.message}`);
        resolve(FORWARDED);
      });
      res.once('close', () => out.destroy());
      out.end(body);
    });
  }
}

const FORWARDED = Symbol('forwarded');

/** The request's ACL token: `X-Consul-Token`, `?token=`, or a Bearer authorization. */
function requestToken(req: IncomingMessage, q: URLSearchParams): string | undefined {
  const auth = req.headers.authorization;
  return (
    (req.headers['x-consul-token'] as string | undefined) ?? q.get('token') ?? (auth?.startsWith('Bearer ') ? auth.slice(7) : undefined)
  );
}

interface Reply {
  status?: number;
  json?: unknown;
  raw?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Go's `url.Values.Encode()`: keys sorted, as Consul prints them. */
function goEncode(q: URLSearchParams): string {
  return [...q.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

function kvView(e: KvEntry): Record<string, unknown> {
  const v: Record<string, unknown> = {
    LockIndex: e.LockIndex,
    Key: e.Key,
    Flags: e.Flags,
    Value: e.Value && e.Value.length > 0 ? e.Value.toString('base64') : null,
    CreateIndex: e.CreateIndex,
    ModifyIndex: e.ModifyIndex,
  };
  if (e.Session) v.Session = e.Session;
  return v;
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(body.toString('utf8') || '{}');
    if (v === null || typeof v !== 'object') throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (error) {
    throw new HttpError(400, `Request decode failed: ${(error as Error).message}`);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** PUTs JSON to another fake agent (client → server sync). */
export function forwardJson(url: string, payload: unknown, token?: string, timeoutMs = 5000): Promise<unknown> {
  const body = Buffer.from(JSON.stringify(payload));
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(body.length) };
    if (token) headers['x-consul-token'] = token;
    const req = httpRequest(url, { method: 'PUT', headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 300) return reject(new HttpError(res.statusCode ?? 500, text || `status ${res.statusCode}`));
        try {
          resolve(text ? JSON.parse(text) : undefined);
        } catch {
          resolve(text);
        }
      });
    });
    req.once('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end(body);
  });
}
