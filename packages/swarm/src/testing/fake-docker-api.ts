import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Dockerode from 'dockerode';
import type { LocalNodeState, SwarmNodeObject } from '../docker-api.js';

/** One HTTP request a fake engine received (bodies hold tokens: tests only). */
export interface FakeRequest {
  hostname: string;
  method: string;
  /** Path without the API version prefix and query, e.g. `/swarm/join`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
}

/** A failure to inject: the next matching request(s) get this status and message. */
export interface FakeFailure {
  hostname?: string;
  method: string;
  /** Matches the path exactly or, for a RegExp, by test. */
  path: string | RegExp;
  status: number;
  message: string;
  /** How many requests fail (default 1). */
  times?: number;
}

interface Engine {
  hostname: string;
  arch: string;
  socketPath: string;
  server: Server;
  state: LocalNodeState;
  nodeId: string;
  addr: string;
  error: string;
  /** Set when the engine belongs to a swarm outside this fake cluster. */
  foreign?: { manager: boolean; clusterId: string };
  /** Docker networks by name (only the ones swarm mode touches are modelled: `docker_gwbridge`). */
  networks: Set<string>;
}

interface SwarmState {
  id: string;
  workerToken: string;
  managerToken: string;
  nodes: Map<string, SwarmNodeObject>;
}

/** Options of {@link FakeDockerCluster.create}. */
export interface FakeDockerClusterOptions {
  /** Engine hostnames, one fake dockerd each. */
  hostnames: readonly string[];
  /** Architecture every engine reports (default `x86_64`). */
  arch?: string;
  /** Artificial latency of swarm join/init (ms), so concurrent callers really interleave. Default 5. */
  joinLatencyMs?: number;
  /**
   * How long a demoted manager stays a Raft member (`ManagerStatus` set, `ControlAvailable`
   * true) after its desired role became `worker`, as Swarm's role manager takes a moment. Default 0.
   */
  demotionDelayMs?: number;
}

const NOT_MANAGER =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
const NOT_IN_SWARM =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

/**
 * An in-process fake of the Docker Engine swarm API for several nodes: one small HTTP server
 * per node on a unix socket in a temp dir, so real dockerode clients talk to it and tests prove
 * the request shapes dockerode actually sends. It models what this package relies on — node
 * states, join tokens, manager/worker roles, node versions, Swarm's error statuses and
 * messages (as dockerd 20–28 send them) — not containers or services.
 *
 * @example
 * ```ts
 * await using fake = await FakeDockerCluster.create({ hostnames: ['node1', 'node2'] });
 * const docker = fake.docker('node1');
 * ```
 */
export class FakeDockerCluster {
  /** Every request received, in order. */
  readonly requests: FakeRequest[] = [];
  private readonly engines = new Map<string, Engine>();
  private readonly failures: FakeFailure[] = [];
  private swarm: SwarmState | undefined;
  private version = 10;

  private constructor(
    private readonly dir: string,
    private readonly joinLatencyMs: number,
    private readonly demotionDelayMs: number,
  ) {}

  /** Starts one fake engine per hostname. */
  static async create(options: FakeDockerClusterOptions): Promise<FakeDockerCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'cl-swarm-fake-'));
    const cluster = new FakeDockerCluster(dir, options.joinLatencyMs ?? 5, options.demotionDelayMs ?? 0);
    for (const hostname of options.hostnames) {
      const socketPath = join(dir, `${hostname}.sock`);
      const engine: Engine = {
        hostname,
        arch: options.arch ?? 'x86_64',
        socketPath,
        server: createServer(),
        state: 'inactive',
        nodeId: '',
        addr: '',
        error: '',
        networks: new Set(),
      };
      engine.server.on('request', (req, res) => void cluster.handle(engine, req, res));
      await new Promise<void>((resolve, reject) => {
        engine.server.once('error', reject);
        engine.server.listen(socketPath, () => resolve());
      });
      cluster.engines.set(hostname, engine);
    }
    return cluster;
  }

  /** The unix socket of a node's fake engine. */
  socketPath(hostname: string): string {
    return this.engine(hostname).socketPath;
  }

  /** A dockerode client for a node's fake engine. */
  docker(hostname: string): Dockerode {
    return new Dockerode({ socketPath: this.socketPath(hostname) });
  }

  /** Makes the next matching request(s) fail. */
  failNext(failure: FakeFailure): void {
    this.failures.push({ times: 1, ...failure });
  }

  /** The swarm's nodes (copies), or `[]` with no swarm. */
  nodes(): SwarmNodeObject[] {
    return [...(this.swarm?.nodes.values() ?? [])].map((n) => structuredClone(n));
  }

  /** The swarm's current cluster ID. */
  get clusterId(): string | undefined {
    return this.swarm?.id;
  }

  /** A node's local swarm state as its engine reports it. */
  localState(hostname: string): LocalNodeState {
    return this.engine(hostname).state;
  }

  /** The Docker networks of a node's engine (as far as the fake models them). */
  networks(hostname: string): string[] {
    return [...this.engine(hostname).networks].sort();
  }

  /** Creates a network on a node's engine, e.g. a `docker_gwbridge` that predates Cluster Lab. */
  addNetwork(hostname: string, name: string): void {
    this.engine(hostname).networks.add(name);
  }

  /** Deletes a network from a node's engine (what dockerd does on its own, e.g. the ingress tear-down after a leave). */
  removeNetwork(hostname: string, name: string): void {
    this.engine(hostname).networks.delete(name);
  }

  /** Simulates a node's dockerd/host going away: its swarm node turns `down` (managers `unreachable`). */
  setDown(hostname: string): void {
    const node = this.ownNode(hostname);
    if (!node) return;
    node.Status.State = 'down';
    if (node.ManagerStatus) node.ManagerStatus.Reachability = 'unreachable';
  }

  /**
   * Simulates dockerd giving up on its swarm node (`LocalNodeState: error`), e.g. a promoted
   * worker that keeps dialling a manager that is gone: the node's entry turns `down`.
   */
  strand(hostname: string, error: string): void {
    this.setDown(hostname);
    const engine = this.engine(hostname);
    engine.state = 'error';
    engine.error = error;
  }

  /** Simulates a dockerd restart (also one that recovers a stranded node): the engine reports `pending` for `pendingMs`, then is Ready again with the same node ID. */
  restart(hostname: string, pendingMs = 50): void {
    const engine = this.engine(hostname);
    if (engine.state !== 'active' && engine.state !== 'error') return;
    this.setDown(hostname);
    engine.state = 'pending';
    engine.error = '';
    setTimeout(() => {
      if (engine.state !== 'pending') return; // it left (and maybe joined afresh) meanwhile
      engine.state = 'active';
      const node = this.ownNode(hostname);
      if (node) {
        node.Status.State = 'ready';
        if (node.ManagerStatus) node.ManagerStatus.Reachability = 'reachable';
      }
    }, pendingMs).unref();
  }

  /** Puts an engine in a swarm that is not this fake cluster's (to test "member of another swarm"). */
  joinForeignSwarm(hostname: string, asManager: boolean, addr = '10.99.0.1'): void {
    const engine = this.engine(hostname);
    engine.state = 'active';
    engine.nodeId = randomId();
    engine.addr = addr;
    engine.foreign = { manager: asManager, clusterId: randomId() };
  }

  /** Stops every fake engine and removes the temp dir. Safe twice. */
  async close(): Promise<void> {
    for (const engine of this.engines.values()) {
      await new Promise<void>((resolve) => engine.server.close(() => resolve()));
      engine.server.closeAllConnections();
    }
    this.engines.clear();
    await rm(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private engine(hostname: string): Engine {
    const engine = this.engines.get(hostname);
    if (!engine) throw new Error(`fake docker: no engine "${hostname}"`);
    return engine;
  }

  private ownNode(hostname: string): SwarmNodeObject | undefined {
    const engine = this.engine(hostname);
    return this.swarm?.nodes.get(engine.nodeId);
  }

  private isManager(engine: Engine): boolean {
    const foreign = engine.foreign;
    if (foreign) return foreign.manager;
    // A Raft member, which a demoted manager stays until the demotion has gone through.
    return engine.state === 'active' && this.swarm?.nodes.get(engine.nodeId)?.ManagerStatus !== undefined;
  }

  private async handle(engine: Engine, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://docker');
    const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
    const query = Object.fromEntries(url.searchParams);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const method = req.method ?? 'GET';
    this.requests.push({ hostname: engine.hostname, method, path, query, body });
    const send = (status: number, payload?: unknown) => {
      const text = payload === undefined ? '' : JSON.stringify(payload);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const failure = this.failures.find(
      (f) =>
        f.method === method &&
        (f.hostname === undefined || f.hostname === engine.hostname) &&
        (typeof f.path === 'string' ? f.path === path : f.path.test(path)),
    );
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      return send(failure.status, { message: failure.message });
    }
    try {
      const [status, payload] = await this.route(engine, method, path, query, body as Record<string, unknown> | undefined);
      send(status, payload);
    } catch (error) {
      send(500, { message: `fake docker: ${(error as Error).message}` });
    }
  }

  private async route(
    engine: Engine,
    method: string,
    path: string,
    query: Record<string, string>,
    body: Record<string, unknown> | undefined,
  ): Promise<[number, unknown?]> {
    const nodeMatch = /^\/nodes\/([^/]+)(\/update)?$/.exec(path);
    if (method === 'GET' && path === '/info') return [200, this.info(engine)];
    const networkMatch = /^\/networks\/([^/]+)$/.exec(path);
    if (networkMatch) return this.network(engine, method, decodeURIComponent(networkMatch[1] ?? ''));
    if (method === 'POST' && path === '/swarm/init') return this.init(engine, body ?? {});
    if (method === 'POST' && path === '/swarm/join') return this.join(engine, body ?? {});
    if (method === 'POST' && path === '/swarm/leave') return this.leave(engine, query.force === 'true');
    if (method === 'GET' && path === '/swarm') {
      if (!this.isManager(engine) || !this.swarm) return [503, { message: engine.state === 'active' ? NOT_MANAGER : NOT_IN_SWARM }];
      return [200, { ID: this.swarm.id, JoinTokens: { Worker: this.swarm.workerToken, Manager: this.swarm.managerToken } }];
    }
    if (path === '/nodes' || nodeMatch) {
      if (!this.isManager(engine) || !this.swarm) return [503, { message: engine.state === 'active' ? NOT_MANAGER : NOT_IN_SWARM }];
      if (method === 'GET' && path === '/nodes') return [200, this.nodes()];
      const node = this.swarm.nodes.get(nodeMatch?.[1] ?? '');
      if (!node) return [404, { message: `node ${nodeMatch?.[1]} not found` }];
      if (method === 'GET' && !nodeMatch?.[2]) return [200, structuredClone(node)];
      if (method === 'POST' && nodeMatch?.[2]) return this.updateNode(node, Number(query.version), body as SwarmNodeObject['Spec']);
      if (method === 'DELETE') return this.removeNode(node, query.force === 'true');
    }
    return [404, { message: `page not found: ${method} ${path}` }];
  }

  private network(engine: Engine, method: string, name: string): [number, unknown?] {
    if (!engine.networks.has(name)) return [404, { message: `network ${name} not found` }];
    if (method === 'GET') return [200, { Name: name, Id: `${name}-id`, Driver: 'bridge' }];
    if (method !== 'DELETE') return [404, { message: `page not found: ${method} /networks/${name}` }];
    // In swarm mode the ingress sandbox has an endpoint on docker_gwbridge.
    if (name === 'docker_gwbridge' && engine.state === 'active') {
      return [403, { message: `error while removing network: network ${name} id ${name}-id has active endpoints` }];
    }
    engine.networks.delete(name);
    return [204];
  }

  private info(engine: Engine) {
    const foreign = engine.foreign;
    const manager = this.isManager(engine);
    const managers = foreign
      ? [{ NodeID: randomId(), Addr: `${engine.addr}:2377` }]
      : [...(this.swarm?.nodes.values() ?? [])]
          .filter((n) => n.Spec.Role === 'manager')
          .map((n) => ({ NodeID: n.ID, Addr: n.ManagerStatus?.Addr ?? '' }));
    return {
      Name: engine.hostname,
      Architecture: engine.arch,
      Swarm: {
        NodeID: engine.state === 'inactive' ? '' : engine.nodeId,
        NodeAddr: engine.state === 'inactive' ? '' : engine.addr,
        LocalNodeState: engine.state,
        ControlAvailable: manager,
        Error: engine.error,
        RemoteManagers: engine.state === 'inactive' ? null : managers,
        ...(manager ? { Cluster: { ID: foreign ? foreign.clusterId : this.swarm?.id } } : {}),
      },
    };
  }

  private newNode(engine: Engine, role: 'manager' | 'worker', advertise: string, leader: boolean): SwarmNodeObject {
    const ip = advertise.split(':')[0] ?? advertise;
    return {
      ID: engine.nodeId,
      Version: { Index: ++this.version },
      Spec: { Role: role, Availability: 'active', Labels: {} },
      Description: { Hostname: engine.hostname, Platform: { Architecture: engine.arch, OS: 'linux' } },
      Status: { State: 'ready', Addr: ip },
      ...(role === 'manager' ? { ManagerStatus: { Leader: leader, Reachability: 'reachable' as const, Addr: advertise } } : {}),
    };
  }

  private async init(engine: Engine, body: Record<string, unknown>): Promise<[number, unknown?]> {
    if (engine.state !== 'inactive')
      return [503, { message: 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.' }];
    const advertise = String(body.AdvertiseAddr ?? '');
    if (!/^\d+\.\d+\.\d+\.\d+:\d+$/.test(advertise)) return [400, { message: `invalid AdvertiseAddr "${advertise}"` }];
    await sleep(this.joinLatencyMs);
    const id = randomId();
    this.swarm = {
      id,
      workerToken: `SWMTKN-1-${randomId()}-${randomId().slice(0, 25)}w`,
      managerToken: `SWMTKN-1-${randomId()}-${randomId().slice(0, 25)}m`,
      nodes: new Map(),
    };
    engine.state = 'active';
    engine.nodeId = randomId();
    engine.addr = advertise.split(':')[0] ?? '';
    engine.networks.add('docker_gwbridge');
    this.swarm.nodes.set(engine.nodeId, this.newNode(engine, 'manager', advertise, true));
    return [200, engine.nodeId];
  }

  private async join(engine: Engine, body: Record<string, unknown>): Promise<[number, unknown?]> {
    if (engine.state !== 'inactive')
      return [503, { message: 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.' }];
    const remote = (body.RemoteAddrs as string[] | undefined)?.[0] ?? '';
    const swarm = this.swarm;
    const target = [...this.engines.values()].find(
      (e) => e !== engine && this.isManager(e) && `${e.addr}:2377` === remote && this.ownNode(e.hostname)?.Status.State === 'ready',
    );
    if (!swarm || !target)
      return [
        500,
        {
          message: `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing dial tcp ${remote}: connect: connection refused"`,
        },
      ];
    const token = String(body.JoinToken ?? '');
    const role = token === swarm.managerToken ? 'manager' : token === swarm.workerToken ? 'worker' : undefined;
    if (!role) return [400, { message: 'rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster' }];
    const advertise = String(body.AdvertiseAddr ?? '');
    if (!/^\d+\.\d+\.\d+\.\d+:\d+$/.test(advertise)) return [400, { message: `invalid AdvertiseAddr "${advertise}"` }];
    await sleep(this.joinLatencyMs);
    engine.state = 'active';
    engine.nodeId = randomId();
    engine.addr = advertise.split(':')[0] ?? '';
    engine.networks.add('docker_gwbridge');
    swarm.nodes.set(engine.nodeId, this.newNode(engine, role, advertise, false));
    return [200];
  }

  private leave(engine: Engine, force: boolean): [number, unknown?] {
    if (engine.state === 'inactive') return [503, { message: 'This node is not part of a swarm' }];
    const node = this.ownNode(engine.hostname);
    if (node?.ManagerStatus && !force) {
      const managers = [...(this.swarm?.nodes.values() ?? [])].filter((n) => n.ManagerStatus).length;
      return [
        503,
        {
          message: `You are attempting to leave the swarm on a node that is participating as a manager. Removing this node leaves ${managers - 1} managers out of ${managers}. Without a Raft quorum your swarm will be inaccessible. Use \`--force\` to suppress this message.`,
        },
      ];
    }
    if (node) {
      node.Status.State = 'down';
      if (node.ManagerStatus) node.ManagerStatus.Reachability = 'unreachable';
      if (node.ManagerStatus && ![...(this.swarm?.nodes.values() ?? [])].some((n) => n.ManagerStatus && n.Status.State === 'ready')) {
        this.swarm = undefined; // the last manager is gone: so is the swarm
      }
    }
    delete engine.foreign;
    engine.error = '';
    engine.state = 'inactive';
    engine.nodeId = '';
    engine.addr = '';
    return [200];
  }

  private updateNode(node: SwarmNodeObject, version: number, spec: SwarmNodeObject['Spec'] | undefined): [number, unknown?] {
    if (!spec?.Role) return [400, { message: 'invalid node spec' }];
    if (version !== node.Version.Index) return [500, { message: 'rpc error: code = Unknown desc = update out of sequence' }];
    const managers = [...(this.swarm?.nodes.values() ?? [])].filter((n) => n.Spec.Role === 'manager');
    if (node.Spec.Role === 'manager' && spec.Role === 'worker') {
      if (managers.length === 1)
        return [400, { message: 'rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm' }];
      const reachableAfter = managers.filter((m) => m.ID !== node.ID && m.ManagerStatus?.Reachability === 'reachable').length;
      if (reachableAfter < Math.floor((managers.length - 1) / 2) + 1) {
        return [
          500,
          { message: `rpc error: code = FailedPrecondition desc = can't remove member ${node.ID}: this would result in a loss of quorum` },
        ];
      }
    }
    node.Spec = structuredClone(spec);
    node.Version.Index = ++this.version;
    if (spec.Role === 'manager' && !node.ManagerStatus) {
      node.ManagerStatus = {
        Leader: false,
        Reachability: node.Status.State === 'ready' ? 'reachable' : 'unreachable',
        Addr: `${node.Status.Addr}:2377`,
      };
    }
    if (spec.Role === 'worker' && node.ManagerStatus) {
      const demote = () => {
        if (!node.ManagerStatus || node.Spec.Role !== 'worker') return;
        const wasLeader = node.ManagerStatus.Leader;
        delete node.ManagerStatus;
        if (wasLeader) {
          const next = [...(this.swarm?.nodes.values() ?? [])].find((m) => m.ManagerStatus?.Reachability === 'reachable');
          if (next?.ManagerStatus) next.ManagerStatus.Leader = true;
        }
      };
      if (this.demotionDelayMs > 0) setTimeout(demote, this.demotionDelayMs);
      else demote();
    }
    return [200];
  }

  private removeNode(node: SwarmNodeObject, force: boolean): [number, unknown?] {
    if (node.Spec.Role === 'manager') {
      return [
        400,
        {
          message: `rpc error: code = FailedPrecondition desc = node ${node.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
        },
      ];
    }
    if (node.Status.State !== 'down' && !force) {
      return [400, { message: `rpc error: code = FailedPrecondition desc = node ${node.ID} is not down and can't be removed` }];
    }
    this.swarm?.nodes.delete(node.ID);
    return [200];
  }
}

function randomId(): string {
  return randomBytes(13).toString('hex').slice(0, 25);
}
