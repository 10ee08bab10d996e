import { mkdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type ClusterConfig, type ClusterStore, type EventSink, ignoreEvents, writeFileAtomic } from '@cluster-lab/core';
import { ConsulClient, DEFAULT_LEADER_TIMEOUT_MS } from './api/consul-client.js';
import { ConsulStore } from './api/consul-store.js';
import { type ConsulRuntimeFacts, type RenderedConsulConfig, renderConsulConfig } from './config/render-consul-config.js';
import type { ConsulRuntime } from './runtime/consul-runtime.js';

/** Options of {@link consulAgent}. */
export interface ConsulAgentOptions {
  config: ClusterConfig;
  facts: ConsulRuntimeFacts;
  /** From `chooseConsulRuntime`, or a `BinaryRuntime`/`ContainerRuntime` built directly. */
  runtime: ConsulRuntime;
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

/** A running agent, returned by `consulAgent(...).start()`. */
export interface StartedConsulAgent {
  /** `host:port` our client talks to. */
  address: string;
  /** The leader's server address (`ip:8300`), when waited for. */
  leader: string | undefined;
  client: ConsulClient;
  /** Core's ClusterStore on this agent's KV. */
  store: ClusterStore;
  rendered: RenderedConsulConfig;
  changes: ConsulAgentChanges;
  /** Stops the agent (graceful leave) and removes what `start` created. Safe twice. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The Consul role of a node: renders the config, writes it (mode 0600: it may hold the gossip key
 * and ACL token), starts the agent through the runtime, and waits for a leader.
 *
 * @example
 * ```ts
 * const { runtime } = await chooseConsulRuntime({ config, runner, docker, runDir });
 * const agent = await consulAgent({ config, runtime, facts }).start();
 * await agent.store.put('swarm/manager-token', token);
 * // later, on `cluster-lab stop`:
 * await agent.stop();
 * ```
 */
export function consulAgent(options: ConsulAgentOptions): { render(): RenderedConsulConfig; start(): Promise<StartedConsulAgent> } {
  const render = () => renderConsulConfig(options.config, options.facts);
  return {
    render,
    async start() {
      const events = options.events ?? ignoreEvents;
      const rendered = render();
      for (const warning of rendered.warnings) events({ type: 'log', level: 'warn', message: warning, source: 'consul' });
      const configFile = options.configFile ?? join(options.config.stateDir, 'consul', 'consul.json');
      const dataDir = options.facts.dataDir;
      const createdDataDir = !(await exists(dataDir));
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const createdConfigFile = !(await exists(configFile));
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
      const client = new ConsulClient({ address, token: options.config.consul.aclToken });
      const stop = async () => {
        client.close();
        await stopConsulAgent(options.runtime, changes);
      };
      let started: boolean | undefined;
      try {
        ({ started } = await options.runtime.start({ configFile, dataDir, nodeName: options.facts.nodeName }));
        changes.startedAgent = started;
        const leader =
          options.waitForLeader === false
            ? undefined
            : await client.waitForLeader({ timeoutMs: options.leaderTimeoutMs ?? DEFAULT_LEADER_TIMEOUT_MS });
        if (leader)
          events({
            type: 'log',
            level: 'info',
            message: `Consul leader ${leader} (agent ${options.facts.nodeName} at ${address})`,
            source: 'consul',
          });
        return { address, leader, client, store: new ConsulStore(client), rendered, changes, stop, [Symbol.asyncDispose]: stop };
      } catch (error) {
        // Leave nothing half-started behind (a failed start may have created a container); the
        // caller's rollback does not know about it yet. An agent that was already running stays.
        if (started === undefined) changes.startedAgent = true;
        await stop().catch(() => {});
        throw error;
      }
    },
  };
}

/**
 * Undoes a `start` from its recorded {@link ConsulAgentChanges} (e.g. from the journal in a later
 * `cluster-lab stop`): stops the agent if `start` started it, removes the config file and data dir
 * if `start` created them. Safe to call twice.
 */
export async function stopConsulAgent(runtime: ConsulRuntime, changes: ConsulAgentChanges): Promise<void> {
  if (changes.startedAgent) await runtime.stop();
  if (changes.createdConfigFile) await rm(changes.configFile, { force: true });
  if (changes.createdDataDir) await rm(changes.dataDir, { recursive: true, force: true });
  // The directories start made for them go too, when nothing else is left in them.
  for (const dir of new Set([dirname(changes.configFile), dirname(changes.dataDir)])) await rmdir(dir).catch(() => {});
}

/**
 * Decides whether a follower runs a Consul server: claims one of `servers - 1` slots (the leader
 * holds one) in the leader's KV with compare-and-set, so exactly the first `servers` nodes become
 * servers no matter how many boot at once. Idempotent per node name.
 *
 * @example
 * ```ts
 * const leaderStore = new ConsulStore(new ConsulClient({ address: `${leaderAddress}:8500` }));
 * const server = await claimServerSlot(leaderStore, 'pi2', config.consul.servers);
 * ```
 */
export async function claimServerSlot(store: ClusterStore, nodeName: string, servers: number): Promise<boolean> {
  const key = 'consul/server-slots';
  for (;;) {
    const current = await store.get(key);
    const holders: string[] = current ? (JSON.parse(current.value) as string[]) : [];
    if (holders.includes(nodeName)) return true;
    if (holders.length >= servers - 1) return false;
    if (await store.cas(key, JSON.stringify([...holders, nodeName]), current?.index ?? 0)) return true;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
