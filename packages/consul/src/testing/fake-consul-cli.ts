// TEST DOUBLE: the fake `consul` executable. Node built-ins only (bundled to dist/fake-consul.js,
// runs on any Node >= 18). It reads the JSON agent config Cluster Lab renders and behaves enough
// like `consul agent` for integration tests and the virtual lab: serves the HTTP API (FakeConsul)
// on client_addr, "gossips" over a small HTTP protocol on bind_addr:serf_lan, forwards a client's
// cluster requests to the server over bind_addr:server (as real agents do over RPC).
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { join as joinPath } from 'node:path';
import { FakeConsul, FakeConsulState, type FakeMemberSpec, forwardJson, MEMBER_STATUS, parseGoDuration } from './fake-consul.js';

const VERSION = '1.20.0';
const BANNER =
  "==> TEST DOUBLE: this is cluster-lab's fake `consul` (FakeConsul), NOT HashiCorp Consul — for tests and the virtual lab only";
/** Interval of member heartbeats to the server, and after how long a silent member is "failed". */
const HEARTBEAT_MS = 1000;
const FAILURE_TIMEOUT_MS = 5000;
/** Fake election time per raft_multiplier step (real Consul: ~1–2 s at multiplier 1). */
const ELECTION_MS_PER_MULTIPLIER = 150;

interface AgentConfigFile {
  datacenter?: string;
  node_name?: string;
  node_id?: string;
  data_dir?: string;
  server?: boolean;
  bootstrap?: boolean;
  bootstrap_expect?: number;
  bind_addr?: string;
  advertise_addr?: string;
  client_addr?: string;
  retry_join?: string[];
  retry_interval?: string;
  leave_on_terminate?: boolean;
  performance?: { raft_multiplier?: number };
  ports?: { http?: number; serf_lan?: number; server?: number };
  encrypt?: string;
  log_level?: string;
  ui?: boolean;
  ui_config?: { enabled?: boolean };
  acl?: { enabled?: boolean; default_policy?: string; tokens?: { initial_management?: string; master?: string; agent?: string } };
}

function log(level: 'INFO' | 'WARN' | 'ERROR' | 'DEBUG', source: string, message: string): void {
  process.stdout.write(`${new Date().toISOString()} [${level}]${level.length === 4 ? ' ' : ''} ${source}: ${message}\n`);
}

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** Parses `-flag=value`, `-flag value`, `--flag value`; repeated flags accumulate. */
function parseFlags(args: string[], booleans: string[] = []): { flags: Map<string, string[]>; rest: string[] } {
  const flags = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const m = /^--?([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const name = m[1] as string;
    let value = m[2];
    if (value === undefined) value = booleans.includes(name) ? 'true' : (args[++i] ?? '');
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { flags, rest };
}

function httpAddr(flags: Map<string, string[]>): string {
  const raw = flags.get('http-addr')?.[0] ?? process.env.CONSUL_HTTP_ADDR ?? '127.0.0.1:8500';
  return raw.startsWith('http') ? raw : `http://${raw}`;
}

function apiCall(base: string, method: string, path: string, token?: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (token) headers['x-consul-token'] = token;
    const req = httpRequest(new URL(path, base), { method, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end(body);
  });
}

async function cli(command: string, args: string[]): Promise<void> {
  const { flags, rest } = parseFlags(args, ['detailed', 'wan', 'recurse']);
  const base = httpAddr(flags);
  const token = flags.get('token')?.[0] ?? process.env.CONSUL_HTTP_TOKEN;
  const call = async (method: string, path: string, body?: string) => {
    let r: { status: number; text: string };
    try {
      r = await apiCall(base, method, path, token, body);
    } catch (error) {
      fail(`Error connecting to Consul agent: ${(error as Error).message}`);
    }
    if (r.status >= 300) fail(`Error: Unexpected response code: ${r.status} (${r.text.trim()})`);
    return r.text;
  };
  process.stderr.write(`${BANNER}\n`);
  switch (command) {
    case 'members': {
      const members = JSON.parse(await call('GET', '/v1/agent/members')) as Array<{
        Name: string;
        Addr: string;
        Port: number;
        Status: number;
        Tags: Record<string, string>;
      }>;
      const statusName = (s: number) => Object.entries(MEMBER_STATUS).find(([, v]) => v === s)?.[0] ?? 'none';
      const rows = [['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC', 'Partition', 'Segment']];
      for (const m of members) {
        rows.push([
          m.Name,
          `${m.Addr}:${m.Port}`,
          statusName(m.Status),
          m.Tags.role === 'consul' ? 'server' : 'client',
          VERSION,
          '2',
          m.Tags.dc ?? '',
          'default',
          '<all>',
        ]);
      }
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
      for (const r of rows)
        process.stdout.write(
          `${r
            .map((c, i) => c.padEnd(widths[i] as number))
            .join('  ')
            .trimEnd()}\n`,
        );
      return;
    }
    case 'join': {
      if (rest.length === 0) fail('At least one address to join must be specified.');
      for (const addr of rest) await call('PUT', `/v1/agent/join/${encodeURIComponent(addr)}`);
      process.stdout.write(`Successfully joined cluster by contacting ${rest.length} nodes.\n`);
      return;
    }
    case 'leave':
      await call('PUT', '/v1/agent/leave');
      process.stdout.write('Graceful leave complete\n');
      return;
    case 'kv': {
      const [sub, key, value] = rest;
      if (sub === 'get' && key) {
        const text = await apiCall(base, 'GET', `/v1/kv/${key}?raw`, token);
        if (text.status === 404) fail(`Error! No key exists at: ${key}`);
        process.stdout.write(`${text.text}\n`);
        return;
      }
      if (sub === 'put' && key) {
        await call('PUT', `/v1/kv/${key}`, value ?? '');
        process.stdout.write(`Success! Data written to: ${key}\n`);
        return;
      }
      fail('usage: consul kv get <key> | consul kv put <key> [value]');
      return;
    }
    default:
      fail(`fake consul: unsupported command "${command}" (supported: agent, members, join, leave, version, kv)`);
  }
}

function readConfig(flags: Map<string, string[]>): AgentConfigFile {
  const files = [...(flags.get('config-file') ?? [])];
  for (const dir of flags.get('config-dir') ?? []) {
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.json')) files.push(joinPath(dir, f));
  }
  let cfg: AgentConfigFile = {};
  for (const f of files) {
    if (!f.endsWith('.json')) fail(`==> fake consul reads JSON config only (got ${f}); Cluster Lab renders JSON`);
    try {
      cfg = { ...cfg, ...(JSON.parse(readFileSync(f, 'utf8')) as AgentConfigFile) };
    } catch (error) {
      fail(`==> Error parsing ${f}: ${(error as Error).message}`);
    }
  }
  const one = (name: string) => flags.get(name)?.[0];
  if (one('data-dir')) cfg.data_dir = one('data-dir');
  if (one('node')) cfg.node_name = one('node');
  if (one('bind')) cfg.bind_addr = one('bind');
  if (one('client')) cfg.client_addr = one('client');
  if (one('server')) cfg.server = one('server') !== 'false';
  if (one('bootstrap-expect')) cfg.bootstrap_expect = Number(one('bootstrap-expect'));
  if (flags.get('retry-join')) cfg.retry_join = flags.get('retry-join');
  if (one('dev')) {
    // -dev: a single in-memory server that elects itself, on loopback.
    cfg.server ??= true;
    cfg.bootstrap_expect ??= 1;
    cfg.bind_addr ??= '127.0.0.1';
  }
  return cfg;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      } catch (error) {
        reject(error);
      }
    });
    req.once('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function agent(args: string[]): Promise<void> {
  const { flags } = parseFlags(args, ['dev', 'server', 'bootstrap']);
  const cfg = readConfig(flags);
  process.stdout.write(`${BANNER}\n`);
  if (!cfg.data_dir) fail('==> data_dir cannot be empty');
  const nodeName = cfg.node_name ?? hostname();
  const datacenter = cfg.datacenter ?? 'dc1';
  const bind = cfg.bind_addr && cfg.bind_addr !== '0.0.0.0' ? cfg.bind_addr : (cfg.advertise_addr ?? '127.0.0.1');
  const advertise = cfg.advertise_addr ?? bind;
  const clientAddrs = (cfg.client_addr ?? '127.0.0.1').trim().split(/\s+/);
  const httpPort = cfg.ports?.http ?? 8500;
  const serfPort = cfg.ports?.serf_lan ?? 8301;
  const serverPort = cfg.ports?.server ?? 8300;
  const isServer = cfg.server ?? false;
  const bootstrapExpect = cfg.bootstrap_expect ?? (cfg.bootstrap ? 1 : 0);
  const retryJoin = cfg.retry_join ?? [];
  const retryMs = parseGoDuration(cfg.retry_interval ?? '30s') ?? 30_000;
  const leaveOnTerminate = cfg.leave_on_terminate ?? !isServer;
  const keyFingerprint = cfg.encrypt ? createHash('sha256').update(cfg.encrypt).digest('hex') : '';
  const aclToken =
    cfg.acl?.enabled && cfg.acl.default_policy !== 'allow'
      ? (cfg.acl.tokens?.initial_management ?? cfg.acl.tokens?.master ?? cfg.acl.tokens?.agent)
      : undefined;
  const debug = (cfg.log_level ?? 'INFO').toUpperCase() === 'DEBUG';

  mkdirSync(cfg.data_dir, { recursive: true });
  const nodeIdFile = joinPath(cfg.data_dir, 'node-id');
  let nodeId = cfg.node_id;
  if (!nodeId) {
    try {
      nodeId = readFileSync(nodeIdFile, 'utf8').trim();
    } catch {
      nodeId = randomUUID();
    }
  }
  writeFileSync(nodeIdFile, nodeId);

  // The bootstrap server owns the cluster state; every other agent forwards to it once joined.
  const owner = isServer && bootstrapExpect > 0;
  const state = new FakeConsulState(datacenter);
  let ownerSerf: string | undefined = owner ? `${advertise}:${serfPort}` : undefined;
  let leaving = false;
  const fake = new FakeConsul({
    nodeName,
    nodeId,
    datacenter,
    address: advertise,
    server: isServer,
    state,
    version: VERSION,
    aclToken,
    onJoin: async (address) => {
      await joinOnce(address);
    },
    onLeave: () => void shutdown('leave'),
    log: debug ? (line) => log('DEBUG', 'agent.http', `Request finished: ${line}`) : undefined,
  });
  const self = (): FakeMemberSpec => ({ ...fake.memberSpec(), serfPort });
  state.upsertMember(self(), VERSION);

  const electIfReady = () => {
    if (!owner || state.leader) return;
    const servers = [...state.members.values()].filter((m) => m.Tags.role === 'consul' && m.Status === MEMBER_STATUS.alive);
    if (servers.length < bootstrapExpect) return;
    setTimeout(
      () => {
        if (state.leader || leaving) return;
        for (const s of servers) state.peers.add(`${s.Addr}:${s.Tags.port ?? serverPort}`);
        state.leader = `${advertise}:${serverPort}`;
        log('INFO', 'agent.server.raft', `entering leader state: leader="Node at ${advertise}:${serverPort} [Leader]"`);
        log('INFO', 'agent.server', `New leader elected: payload=${nodeName}`);
      },
      ELECTION_MS_PER_MULTIPLIER * (cfg.performance?.raft_multiplier ?? 5),
    );
  };

  // "Gossip": joins, heartbeats and leaves, over HTTP on the serf LAN address.
  const serf = createServer(async (req, res) => {
    try {
      const body = await readJson(req);
      if (req.url === '/fake-serf/join' && req.method === 'PUT') {
        if (!owner) {
          if (!ownerSerf) return sendJson(res, 503, { error: 'agent has not joined a cluster yet' });
          return sendJson(
            res,
            200,
            await forwardJson(`http://${ownerSerf}/fake-serf/join`, body).catch((e: Error) => ({ error: e.message })),
          );
        }
        if (body.keyFingerprint !== keyFingerprint)
          return sendJson(res, 403, { error: 'memberlist: encryption key mismatch (No installed keys could decrypt the message)' });
        const member = body.member as FakeMemberSpec;
        if (member.datacenter !== datacenter)
          return sendJson(res, 400, { error: `Member '${member.name}' part of wrong datacenter '${member.datacenter}'` });
        const known = state.members.get(member.name);
        if (known && known.Tags.id !== member.nodeId && known.Status === MEMBER_STATUS.alive) {
          return sendJson(res, 409, {
            error: `Member '${member.name}' has conflicting node ID '${member.nodeId}' with member '${known.Name}'`,
          });
        }
        if (!known || known.Status !== MEMBER_STATUS.alive)
          log('INFO', 'agent.server.serf.lan', `serf: EventMemberJoin: ${member.name} ${member.address}`);
        state.upsertMember(member, VERSION);
        if (member.server && state.leader) state.peers.add(`${member.address}:8300`);
        electIfReady();
        return sendJson(res, 200, {
          leaderRpc: `${advertise}:${serverPort}`,
          ownerSerf: `${advertise}:${serfPort}`,
          members: state.members.size,
        });
      }
      if (req.url === '/fake-serf/leave' && req.method === 'PUT') {
        if (!owner) {
          if (ownerSerf) await forwardJson(`http://${ownerSerf}/fake-serf/leave`, body).catch(() => {});
          return sendJson(res, 200, {});
        }
        log('INFO', 'agent.server.serf.lan', `serf: EventMemberLeave: ${String(body.name)}`);
        state.setMemberStatus(String(body.name), 'left');
        return sendJson(res, 200, {});
      }
      sendJson(res, 404, { error: 'unknown' });
    } catch (error) {
      sendJson(res, 500, { error: (error as Error).message });
    }
  });
  const servers: Server[] = [];
  let heartbeat: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let reaper: NodeJS.Timeout | undefined;

  async function joinOnce(address: string): Promise<void> {
    const target = address.includes(':') ? address : `${address}:${serfPort}`;
    const reply = (await forwardJson(`http://${target}/fake-serf/join`, { member: self(), keyFingerprint }, undefined, 3000).catch(
      (e: Error) => {
        const m = /"error":"([^"]*)"/.exec(e.message);
        throw new Error(m ? m[1] : e.message);
      },
    )) as { leaderRpc?: string; ownerSerf?: string; error?: string };
    if (!reply?.leaderRpc) throw new Error(reply?.error ?? 'no cluster at that address');
    ownerSerf = reply.ownerSerf;
    fake.upstream = `http://${reply.leaderRpc}`;
    if (!heartbeat) {
      heartbeat = setInterval(() => {
        if (!ownerSerf || leaving) return;
        forwardJson(`http://${ownerSerf}/fake-serf/join`, { member: self(), keyFingerprint }, undefined, 2000).catch((e: Error) =>
          log('WARN', 'agent.client.memberlist.lan', `memberlist: Failed to send heartbeat to ${ownerSerf}: ${e.message}`),
        );
      }, HEARTBEAT_MS);
      heartbeat.unref();
    }
  }

  async function retryJoinLoop(): Promise<void> {
    if (leaving || retryJoin.length === 0) return;
    log('INFO', 'agent', `Joining cluster...: cluster=LAN`);
    const errors: string[] = [];
    for (const addr of retryJoin) {
      try {
        await joinOnce(addr);
        log('INFO', 'agent', `(LAN) joined: number_of_nodes=1`);
        log('INFO', 'agent', `Join cluster completed. Synced with initial agents: cluster=LAN num_agents=1`);
        return;
      } catch (error) {
        errors.push(`${addr}: ${(error as Error).message}`);
      }
    }
    log('WARN', 'agent', `(LAN) couldn't join: number_of_nodes=0 error="${errors.join('; ')}"`);
    log('WARN', 'agent', `Join cluster failed, will retry: cluster=LAN retry_interval=${cfg.retry_interval ?? '30s'}`);
    retryTimer = setTimeout(() => void retryJoinLoop(), retryMs);
  }

  async function shutdown(reason: 'signal' | 'leave'): Promise<void> {
    if (leaving) return;
    leaving = true;
    if (reason === 'signal') process.stdout.write('==> Caught signal: terminated\n');
    log('INFO', 'agent', 'Gracefully shutting down agent...');
    if (reason === 'leave' || leaveOnTerminate) {
      log('INFO', 'agent.client', 'client starting leave');
      if (owner) state.setMemberStatus(nodeName, 'left');
      else if (ownerSerf) await forwardJson(`http://${ownerSerf}/fake-serf/leave`, { name: nodeName }, undefined, 2000).catch(() => {});
      log('INFO', 'agent', 'Graceful leave complete');
    }
    clearInterval(heartbeat);
    clearTimeout(retryTimer);
    clearInterval(reaper);
    await fake.close();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    log('INFO', 'agent', 'shutdown complete');
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('signal'));
  process.on('SIGINT', () => void shutdown('signal'));

  process.stdout.write(`==> Starting Consul agent...\n`);
  process.stdout.write(`               Version: '${VERSION}-fake'\n`);
  process.stdout.write(`            Build Date: 'TEST DOUBLE'\n`);
  process.stdout.write(`               Node ID: '${nodeId}'\n`);
  process.stdout.write(`             Node name: '${nodeName}'\n`);
  process.stdout.write(`            Datacenter: '${datacenter}' (Segment: '${isServer ? '<all>' : ''}')\n`);
  process.stdout.write(`                Server: ${isServer} (Bootstrap: ${bootstrapExpect > 0})\n`);
  process.stdout.write(`           Client Addr: [${clientAddrs.join(' ')}] (HTTP: ${httpPort}, HTTPS: -1, gRPC: -1, DNS: -1)\n`);
  process.stdout.write(`          Cluster Addr: ${advertise} (LAN: ${serfPort}, WAN: -1)\n`);
  process.stdout.write(`     Gossip Encryption: ${Boolean(cfg.encrypt)}\n`);
  process.stdout.write(`\n==> Log data will now stream in as it occurs:\n\n`);

  try {
    await listen(serf, serfPort, bind);
    servers.push(serf);
    if (isServer) {
      const rpc = createServer((req, res) => void fake.handle(req, res));
      await listen(rpc, serverPort, bind);
      servers.push(rpc);
    }
    for (const addr of clientAddrs) await fake.listen(httpPort, addr);
  } catch (error) {
    fail(`==> Error starting agent: ${(error as Error).message}`);
  }
  log('INFO', 'agent', `Started HTTP server on ${clientAddrs.map((a) => `${a}:${httpPort}`).join(', ')} (tcp)`);
  if (owner) {
    reaper = setInterval(() => state.reapMembers(FAILURE_TIMEOUT_MS, nodeName), HEARTBEAT_MS);
    if (bootstrapExpect > 1) log('INFO', 'agent.server', `Waiting for ${bootstrapExpect} servers before bootstrapping`);
    electIfReady();
  }
  log('INFO', 'agent', 'started state syncer');
  log('INFO', 'agent', 'Consul agent running!');
  void retryJoinLoop();
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case 'version':
    case '--version':
    case '-v':
      if (args.includes('-format=json')) {
        process.stdout.write(`${JSON.stringify({ Version: VERSION, Revision: 'fake', Prerelease: 'fake' }, null, 3)}\n`);
        return;
      }
      process.stdout.write(
        `Consul v${VERSION}-fake\nRevision fake\nBuild Date TEST DOUBLE\nProtocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)\n${BANNER}\n`,
      );
      return;
    case 'agent':
      return agent(args);
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(
        `${BANNER}\nUsage: consul <command> [args]\n\n  agent    Runs a (fake) Consul agent\n  members  Lists the members of a Consul cluster\n  join     Tell Consul agent to join cluster\n  leave    Gracefully leaves the Consul cluster and shuts down\n  kv       get/put keys\n  version  Prints the Consul version\n`,
      );
      return;
    default:
      return cli(command, args);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => fail(`fake consul: ${(error as Error).stack ?? String(error)}`));
