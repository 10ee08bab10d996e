import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { ConsulClient } from '@cluster-lab/consul';
import {
  type ClusterConfig,
  type ClusterKeys,
  type CommandRunner,
  consulSecrets,
  ExecaRunner,
  IpRoute2,
  leaderCidr,
  type Network,
  subnetPrefix,
} from '@cluster-lab/core';
import { type ClientPaths, clientPaths, type DnsmasqPaths, dnsmasqPaths } from '@cluster-lab/dhcp';
import { createBackend, type NetworkBackend } from '@cluster-lab/vlan';
import Dockerode from 'dockerode';

/** File name of the journal inside `config.stateDir`. */
export const JOURNAL_FILE = 'journal.json';
/** File name of what this node knows about its cluster, inside `config.stateDir` (kept across `stop`). */
export const CLUSTER_FILE = 'cluster.json';

/** Files of the supervisor process, inside `<stateDir>/supervisor/`. */
export interface SupervisorPaths {
  dir: string;
  pidFile: string;
  logFile: string;
  /** The effective config `start` hands to the supervisor (mode 0600: it may hold the gossip key). */
  configFile: string;
}

/** Everything the boot flow keeps in the state dir, by role. */
export interface NodePaths {
  stateDir: string;
  /** The journal `start` writes and `stop` replays. */
  journal: string;
  /**
   * What this node knows about its cluster (cluster id, Consul servers, Swarm managers, its own
   * node address): kept across `stop` so the next start finds the cluster again; `stop --purge`
   * removes it.
   */
  clusterFile: string;
  supervisor: SupervisorPaths;
  /** The Consul agent's run dir (binary runtime: pid file, log, config) … */
  consulRunDir: string;
  /** … and its data dir, inside it. */
  consulDataDir: string;
  /** The leader's dnsmasq files (the lease database is kept across restarts on purpose). */
  dnsmasq: DnsmasqPaths;
  /** The follower's DHCP client files on the cluster link. */
  dhcpClient: ClientPaths;
}

/**
 * One node as the boot flow sees it: the config, and every value derived from it, computed once
 * (prefix length, leader CIDR, the uplink DHCP must never serve, paths in the state dir) together
 * with the handles that act on this machine (runner, network, cluster link backend, Docker API,
 * Consul API). Built by {@link nodeFacts}; `startNode`, `stopNode`, the services, the health
 * checks, status and the supervisor all read it instead of re-deriving their own copies.
 */
export interface NodeFacts {
  readonly config: ClusterConfig;
  /**
   * The keys derived from the cluster secret (`loadNodeFacts` reads `secretFile` once), or
   * undefined with `security: open` — or when the file is unusable, which `start`'s preflight
   * then refuses. As sensitive as the secret: never log them.
   */
  readonly keys: ClusterKeys | undefined;
  /** Node name: `config.hostname`, else the host name. */
  readonly hostname: string;
  /** Prefix length of the cluster subnet (24 for `192.168.200.0/24`). */
  readonly prefix: number;
  /** The leader address with that prefix, as it sits on the cluster link (`192.168.200.1/24`). */
  readonly leaderCidr: string;
  /** The interface DHCP must never serve: the uplink; undefined for the `native` backend (no uplink underneath). */
  readonly uplink: string | undefined;
  /** Name of the cluster link (`eth0.200`, `vx200`, the dedicated NIC). */
  readonly linkName: string;
  readonly paths: NodePaths;
  /** Runs programs on this node. */
  readonly runner: CommandRunner;
  /** This node's links and addresses. */
  readonly network: Network;
  /** The cluster link backend of `config.network.backend`. */
  readonly backend: NetworkBackend;
  /** This node's Docker API, on its unix socket (never TCP). */
  readonly docker: Dockerode;
  /** A client of this node's Consul agent (loopback HTTP API, the management token: `consul.aclToken` or derived); the caller closes it. */
  localConsul(options?: { timeoutMs?: number }): ConsulClient;
  /**
   * A client of the Consul agent of whichever node holds the leader address (every agent also
   * serves HTTP there, so the address reaches the holder's own agent); the caller closes it.
   */
  leaderConsul(options?: { timeoutMs?: number }): ConsulClient;
  /** A client of the Consul agent at `host` (a node address) on the configured HTTP port; the caller closes it. */
  consulAt(host: string, options?: { timeoutMs?: number }): ConsulClient;
}

/** Options of {@link nodeFacts}. */
export interface NodeFactsOptions {
  /** Runs programs on this node; default a new `ExecaRunner` (in the lab: the node's runner). */
  runner?: CommandRunner;
  /** This node's network; default `new IpRoute2(runner)` (in the lab: the node's `ip`). */
  network?: Network;
  /** Node name; default `config.hostname`, else the host name. */
  hostname?: string;
  /** The cluster keys (`loadClusterKeys(config)`); `loadNodeFacts` passes them. Default none. */
  keys?: ClusterKeys;
}

/** The journal of a config's state dir. */
export function journalPath(config: Pick<ClusterConfig, 'stateDir'>): string {
  return join(config.stateDir, JOURNAL_FILE);
}

/**
 * Builds the {@link NodeFacts} of `config` on this machine (or on one lab node, given its runner
 * and network). Pure: nothing runs and nothing connects until a handle is used.
 *
 * @example
 * ```ts
 * const { config } = await loadConfig({ file: '/etc/cluster-lab/config.yaml', env: process.env });
 * const node = nodeFacts(config);
 * console.log(node.leaderCidr, node.linkName, node.paths.journal);
 * ```
 */
export function nodeFacts(config: ClusterConfig, options: NodeFactsOptions = {}): NodeFacts {
  const runner = options.runner ?? new ExecaRunner();
  const network = options.network ?? new IpRoute2(runner);
  const backend = createBackend(config, { network, runner });
  const consulRunDir = join(config.stateDir, 'consul');
  const supervisorDir = join(config.stateDir, 'supervisor');
  // Cluster Lab's own Consul calls carry the management token (the user's consul.aclToken wins).
  const { token } = consulSecrets(config, options.keys);
  const consulAt = (host: string, timeoutMs?: number) =>
    new ConsulClient({ address: `${host}:${config.consul.httpPort}`, ...(token ? { token } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  const facts: Omit<NodeFacts, 'keys'> = {
    config,
    hostname: options.hostname ?? config.hostname ?? osHostname(),
    prefix: subnetPrefix(config),
    leaderCidr: leaderCidr(config),
    uplink: config.network.backend === 'native' ? undefined : config.interface,
    linkName: backend.linkName,
    paths: {
      stateDir: config.stateDir,
      journal: journalPath(config),
      clusterFile: join(config.stateDir, CLUSTER_FILE),
      supervisor: {
        dir: supervisorDir,
        pidFile: join(supervisorDir, 'supervisor.pid'),
        logFile: join(supervisorDir, 'supervisor.log'),
        configFile: join(supervisorDir, 'config.json'),
      },
      consulRunDir,
      consulDataDir: join(consulRunDir, 'data'),
      dnsmasq: dnsmasqPaths(config.stateDir),
      dhcpClient: clientPaths(config.stateDir, backend.linkName),
    },
    runner,
    network,
    backend,
    docker: new Dockerode({ socketPath: config.docker.socket }),
    localConsul: (o = {}) => consulAt('127.0.0.1', o.timeoutMs),
    leaderConsul: (o = {}) => consulAt(config.leaderAddress, o.timeoutMs),
    consulAt: (host, o = {}) => consulAt(host, o.timeoutMs),
  };
  // Not enumerable: a node printed or serialised by accident (a debug log, --json) never shows its keys.
  return Object.defineProperty(facts, 'keys', { value: options.keys, enumerable: false }) as NodeFacts;
}
