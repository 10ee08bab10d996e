import { mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type ClusterConfig,
  type ClusterKeys,
  type ClusterStore,
  type EventSink,
  ignoreEvents,
  pathExists,
  writeFileAtomic,
} from '@cluster-lab/core';
import { ensureAgentToken } from './acl/agent-token.js';
import { ConsulClient, DEFAULT_LEADER_TIMEOUT_MS, LOCAL_LEADER_POLL_MS } from './api/consul-client.js';
import { ConsulStore } from './api/consul-store.js';
import { consulLeaveDone, type LeavingAgent } from './api/leave-check.js';
import { type ConsulSecurity, consulSecurity } from './config/consul-security.js';
import { type ConsulRuntimeFacts, type RenderedConsulConfig, renderConsulConfig } from './config/render-consul-config.js';
import type { ConsulRuntime, ConsulStopOptions } from './runtime/consul-runtime.js';
import { type ConsulVersion, formatConsulVersion } from './version/consul-version.js';

/** Options of {@link consulAgent}. */
export interface ConsulAgentOptions {
  config: ClusterConfig;
  facts: ConsulRuntimeFacts;
  /**
   * The keys derived from the cluster secret (`loadClusterKeys`), or undefined (`security:
   * open`). With keys the agent runs with the derived gossip key and ACL tokens (values in the
   * config — `consul.encrypt`, `consul.aclToken` — win), and once a leader is known it creates
   * its own agent token ({@link ensureAgentToken}).
   */
  keys?: ClusterKeys;
  /** From `chooseConsulRuntime`, or a `BinaryRuntime`/`ContainerRuntime` built directly. */
  runtime: ConsulRuntime;
  /** The agent's version; default `runtime.version()` (asked once). Decides the config keys. */
  version?: ConsulVersion;
  /** Where the rendered config is written. Default `<stateDir>/consul/consul.json`. */
  configFile?: string;
  /**
   * Address our client uses. Default `127.0.0.1:<httpPort>` (client_addr always includes
   * loopback). Set it when this process is not on the node (e.g. a test outside its namespace).
   */
  clientAddress?: string;
  /** Wait for a Raft leader before `start` resolves. Default true. */
  waitForLeader?: boolean;
  /** Default 30 s (error `CONSUL_NO_LEADER`). */
  leaderTimeoutMs?: number;
  events?: EventSink;
}

/** What `start` changed on the host — record it in the journal so a later `stop` can undo it. */
export interface ConsulAgentChanges {
  runtime: 'container' | 'binary';
  configFile: string;
  /** True when `start` created the config file (then `stop` removes it). */
  createdConfigFile: boolean;
  dataDir: string;
  /** True when `start` created the data dir (then `stop` removes it). */
  createdDataDir: boolean;
  /** True when `start` started the agent (false: it was already running). */
  startedAgent: boolean;
}

/**
 * An agent whose process was started but may not be up yet, returned by
 * `consulAgent(...).begin()`. Its config is written and `changes` already says what to undo, so
 * a caller can journal it before waiting. Call {@link BegunConsulAgent.ready} next (or `stop`).
 */
export interface BegunConsulAgent {
  /** `host:port` our client talks to. */
  address: string;
  client: ConsulClient;
  rendered: RenderedConsulConfig;
  /** The agent's version the config was rendered for. */
  version: ConsulVersion;
  /** Gossip key and tokens the agent runs with (secret: never log it). */
  security: ConsulSecurity;
  changes: ConsulAgentChanges;
  /**
   * Waits until the agent runs and (unless `waitForLeader: false`) knows a Raft leader. On
   * failure it stops the agent and removes what `begin` created, then throws.
   */
  ready(): Promise<StartedConsulAgent>;
  /**
   * Waits only until the agent runs (~0.2 s after exec for 1.8.7), not for the Raft leader
   * (1–2 s more for a first server: raft's randomised heartbeat timeout). The returned `store`
   * waits for the leader before its first operation, so work that needs no KV (e.g.
   * `docker swarm init`) overlaps the election. `leader` is undefined; {@link leaderKnown} waits
   * for it explicitly. On failure it stops the agent and removes what `begin` created.
   */
  running(): Promise<StartedConsulAgent>;
  /**
   * Polls this agent (every {@link LOCAL_LEADER_POLL_MS}) until it knows a Raft leader, and with
   * derived ACL tokens makes sure this node's agent token exists; returns the leader's server address.
   */
  leaderKnown(): Promise<string>;
  /** Stops the agent (graceful leave) and removes what `begin` created. Safe twice. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A running agent, returned by `consulAgent(...).start()` or `begin()` + `ready()`. */
export interface StartedConsulAgent extends BegunConsulAgent {
  /** The leader's server address (`ip:8300`), when waited for. */
  leader: string | undefined;
  /** Core's ClusterStore on this agent's KV. */
  store: ClusterStore;
}

/** What {@link consulAgent} returns: render, or start in one go or in two halves. */
export interface ConsulAgentRole {
  /** The config this node gets for `version` (default: the runtime's). */
  render(version?: ConsulVersion): Promise<RenderedConsulConfig>;
  /**
   * Detects the version, renders and writes the config, starts the agent and returns at once —
   * ~0.5 s before a 1.8.7 agent runs and 1.5–2.5 s before a first server elects itself. Start it
   * as early as the node holds its cluster address and do other work before {@link BegunConsulAgent.ready}.
   */
  begin(): Promise<BegunConsulAgent>;
  /** `begin()` then `ready()`. */
  start(): Promise<StartedConsulAgent>;
}

/**
 * The Consul role of a node: detects the agent's version, renders the config for it, writes it
 * (mode 0600: it may hold the gossip key and ACL token), starts the agent through the runtime,
 * and waits for a leader — in one call (`start`) or in two halves (`begin`, then `ready`) so the
 * agent's start-up overlaps other boot work.
 *
 * @example
 * ```ts
 * const { runtime } = await chooseConsulRuntime({ config, runner, docker, runDir });
 * const begun = await consulAgent({ config, runtime, facts }).begin();
 * // … start the DHCP server meanwhile …
 * const agent = await begun.ready();
 * await agent.store.put('swarm/manager-token', token);
 * // later, on `cluster-lab stop`:
 * await agent.stop();
 * ```
 */
export function consulAgent(options: ConsulAgentOptions): ConsulAgentRole {
  let detected: Promise<ConsulVersion> | undefined;
  const version = () => {
    detected ??= options.version ? Promise.resolve(options.version) : options.runtime.version();
    return detected;
  };
  const security = consulSecurity(options.config, options.keys, options.facts.nodeName);
  const render = async (v?: ConsulVersion) =>
    renderConsulConfig(options.config, { ...options.facts, version: v ?? (await version()) }, security);
  const begin = async (): Promise<BegunConsulAgent> => {
    const events = options.events ?? ignoreEvents;
    const agentVersion = await version();
    const rendered = await render(agentVersion);
    for (const warning of rendered.warnings) events({ type: 'log', level: 'warn', message: warning, source: 'consul' });
    const configFile = options.configFile ?? join(options.config.stateDir, 'consul', 'consul.json');
    const dataDir = options.facts.dataDir;
    const createdDataDir = !(await pathExists(dataDir));
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const createdConfigFile = !(await pathExists(configFile));
    await mkdir(dirname(configFile), { recursive: true });
    await writeFileAtomic(configFile, rendered.json, 0o600);
    const changes: ConsulAgentChanges = {
      runtime: options.runtime.kind,
      configFile,
      createdConfigFile,
      dataDir,
      createdDataDir,
      startedAgent: false,
    };
    const address = options.clientAddress ?? `127.0.0.1:${options.config.consul.httpPort}`;
    const client = new ConsulClient({ address, ...(security.managementToken ? { token: security.managementToken } : {}) });
    const stop = async () => {
      client.close();
      await stopConsulAgent(options.runtime, changes);
    };
    const fail = async (error: unknown, started: boolean | undefined): Promise<never> => {
      // Leave nothing half-started behind (a failed start may have created a container); the
      // caller's rollback does not know about it yet. An agent that was already running stays.
      if (started === undefined) changes.startedAgent = true;
      await stop().catch(() => {});
      throw error;
    };
    const spec = { configFile, dataDir, nodeName: options.facts.nodeName };
    let started: boolean | undefined;
    try {
      ({ started } = await options.runtime.begin(spec));
      changes.startedAgent = started;
    } catch (error) {
      return fail(error, started);
    }
    let leaderWait: Promise<string> | undefined;
    const leaderKnown = () => {
      leaderWait ??= client
        .waitForLeader({ timeoutMs: options.leaderTimeoutMs ?? DEFAULT_LEADER_TIMEOUT_MS, pollMs: LOCAL_LEADER_POLL_MS })
        .then(async (leader) => {
          events({
            type: 'log',
            level: 'info',
            message: `Consul ${formatConsulVersion(agentVersion)} leader ${leader} (agent ${options.facts.nodeName} at ${address})`,
            source: 'consul',
          });
          if (security.source.token === 'secret' && security.agentToken) {
            const { created } = await ensureAgentToken(client, {
              nodeName: options.facts.nodeName,
              datacenter: options.config.consul.datacenter,
              agentToken: security.agentToken,
            });
            if (created)
              events({ type: 'log', level: 'info', message: `created the agent token of ${options.facts.nodeName}`, source: 'consul' });
          }
          return leader;
        })
        .catch((error: unknown) => {
          // A later call (the store's gate, ready()) tries again instead of repeating the failure.
          leaderWait = undefined;
          throw error;
        });
      return leaderWait;
    };
    const begun: BegunConsulAgent = {
      address,
      client,
      rendered,
      version: agentVersion,
      security,
      changes,
      stop,
      [Symbol.asyncDispose]: stop,
      leaderKnown,
      async running() {
        try {
          await options.runtime.waitRunning();
          return { ...begun, leader: undefined, store: new ConsulStore(client, { ready: leaderKnown }) };
        } catch (error) {
          return fail(error, started);
        }
      },
      async ready() {
        try {
          await options.runtime.waitRunning();
          const leader = options.waitForLeader === false ? undefined : await leaderKnown();
          return { ...begun, leader, store: new ConsulStore(client) };
        } catch (error) {
          return fail(error, started);
        }
      },
    };
    return begun;
  };
  return {
    render,
    begin,
    async start() {
      return (await begin()).ready();
    },
  };
}

/** Options of {@link stopConsulAgent}. */
export interface StopConsulAgentOptions {
  /**
   * `graceful` (default): the agent leaves the cluster (a single node's `stop`). `none`: the
   * whole cluster is stopping — no leave, the agent just shuts down (see {@link ConsulStopOptions}).
   */
  leave?: 'graceful' | 'none';
  /**
   * The agent's own HTTP API (loopback, short timeout). With it a graceful stop ends as soon as
   * the leave has done its part ({@link consulLeaveDone}) instead of after Consul's fixed waits.
   */
  client?: ConsulClient;
  /**
   * How to reach the other servers' HTTP API (the cluster's `consul.httpPort` and ACL token), to
   * ask the Raft leader whether this server is out of the peer set. Default: ask the agent itself.
   */
  servers?: { httpPort: number; token?: string | undefined; timeoutMs?: number };
}

/**
 * Undoes a `start` from its recorded {@link ConsulAgentChanges} (e.g. from the journal in a later
 * `cluster-lab stop`): stops the agent if `start` started it (leaving the cluster as `options`
 * say), removes the config file and data dir if `start` created them. Safe to call twice.
 */
export async function stopConsulAgent(
  runtime: ConsulRuntime,
  changes: ConsulAgentChanges,
  options: StopConsulAgentOptions = {},
): Promise<void> {
  if (changes.startedAgent) {
    const leave = options.leave ?? 'graceful';
    const agent = leave === 'graceful' && options.client ? await leavingAgent(changes.configFile) : undefined;
    const { client, servers } = options;
    const check = servers ? { peersOf: (host: string) => peersOf(host, servers) } : {};
    await runtime.stop(agent && client ? { leave, left: () => consulLeaveDone(client, agent, check) } : { leave });
  }
  if (changes.createdConfigFile) await rm(changes.configFile, { force: true });
  if (changes.createdDataDir) await rm(changes.dataDir, { recursive: true, force: true });
  // The directories start made for them go too, when nothing else is left in them.
  for (const dir of new Set([dirname(changes.configFile), dirname(changes.dataDir)])) await rmdir(dir).catch(() => {});
}

async function peersOf(host: string, servers: NonNullable<StopConsulAgentOptions['servers']>): Promise<string[]> {
  const remote = new ConsulClient({
    address: `${host}:${servers.httpPort}`,
    ...(servers.token ? { token: servers.token } : {}),
    timeoutMs: servers.timeoutMs ?? 1_000,
  });
  try {
    return await remote.peers();
  } finally {
    remote.close();
  }
}

/** Node name and server flag from the agent's rendered config; undefined when it cannot be read. */
async function leavingAgent(configFile: string): Promise<LeavingAgent | undefined> {
  try {
    const config = JSON.parse(await readFile(configFile, 'utf8')) as { node_name?: unknown; server?: unknown };
    return typeof config.node_name === 'string' ? { nodeName: config.node_name, server: config.server === true } : undefined;
  } catch {
    return undefined;
  }
}
