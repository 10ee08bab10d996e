import { type ClusterConfig, cidrContains, isIpv4 } from '@cluster-lab/core';
import { consulError } from '../consul-errors.js';
import { type ConsulVersion, consulVersionAtLeast, requireSupportedConsul } from '../version/consul-version.js';
import { type ConsulSecurity, consulSecurity } from './consul-security.js';

/**
 * How often a follower retries joining the leader. Replaces Consul's default `retry_interval`
 * of 30 s: followers usually boot in the same second as the leader and their first join attempt
 * fails; waiting 30 s for the second would make formation take half a minute. Retrying a TCP
 * connect every second on an isolated cluster link costs nothing (DESIGN §6), and it bounds what
 * a follower that started before the leader loses to about one second.
 */
export const CONSUL_RETRY_INTERVAL = '1s';

/**
 * Raft timing multiplier. Consul's default is 5 (tuned for slow cloud VMs: first election takes
 * 5–10 s); 1 is HashiCorp's recommendation for production hardware and elects in 1–2 s. Our
 * cluster link is a dedicated LAN segment, so the tighter timing is safe (DESIGN §6).
 */
export const CONSUL_RAFT_MULTIPLIER = 1;

/**
 * How long a server keeps answering RPCs while it leaves (`stop`). Replaces Consul's default of
 * 5 s, which exists so clients can retry elsewhere during a rolling update over a WAN; on the
 * cluster link a retry lands in milliseconds, and the 5 s made every server's `stop` take ~13 s
 * (measured with 1.8.7: serf leave 6 s + drain 5 s), past the runtime's 10 s stop timeout.
 */
export const CONSUL_LEAVE_DRAIN_TIME = '1s';
/** Consul's own ports we configure or document (HTTP comes from `config.consul.httpPort`). */
export const CONSUL_SERVER_PORT = 8300;
/** Serf LAN gossip port (`retry_join` targets it). */
export const CONSUL_SERF_LAN_PORT = 8301;

/** Facts about this node at boot that the config depends on (not in the config file). */
export interface ConsulRuntimeFacts {
  /** The elected role; the leader bootstraps the first server. */
  role: 'leader' | 'follower';
  /**
   * Whether this node runs a Consul server or a client agent (the boot flow decides it in the
   * cluster's slot table). A node that bootstraps is always a server.
   */
  server: boolean;
  /** This node's address on the cluster link: bind and advertise address. */
  clusterAddress: string;
  /** The leader address (followers join it unless {@link join} names the servers). */
  leaderAddress: string;
  /**
   * Also serve the HTTP API on the leader address, on every node: whichever node holds it then
   * answers `http://<leader address>:<httpPort>` with its own agent, so the address keeps
   * reaching a Consul agent when it moves. Binding an address the node does not hold needs
   * `net.ipv4.ip_nonlocal_bind=1` (the boot flow sets it). Default false.
   */
  serveOnLeaderAddress?: boolean;
  /** Consul node name; normally the host name. */
  nodeName: string;
  /** Stable node id (see {@link nodeIdFromMachineId}). */
  nodeId: string;
  /** Consul's data directory on the host (inside the container it is mounted at the same path). */
  dataDir: string;
  /**
   * `bootstrap_expect` on the leader. Default 1: the leader elects itself at once and further
   * servers join as voters (autopilot). Set N only for an HA cluster started with N servers at once.
   */
  bootstrapExpect?: number;
  /**
   * Whether the leader bootstraps a new Raft cluster. Default true for the leader, never for a
   * follower. Raft safety rests on it: bootstrap only when no Consul cluster exists yet. A
   * leader that takes over (failover, or a restart with a fresh data dir while the other servers
   * run) must pass `false` and {@link join} the existing servers — two bootstrapped servers in
   * one gossip pool are two Raft clusters.
   */
  bootstrap?: boolean;
  /**
   * Addresses to `retry_join`. Default: followers join the leader address; a bootstrapping
   * leader joins nobody. Required (non-empty) for a leader that does not bootstrap.
   */
  join?: string[];
}

/** {@link ConsulRuntimeFacts} plus the agent's version, which decides the keys we write. */
export interface ConsulConfigFacts extends ConsulRuntimeFacts {
  /** The agent's version (`runtime.version()`); older than 1.8 is refused with `CONSUL_TOO_OLD`. */
  version: ConsulVersion;
}

/**
 * The config keys one Consul version understands, for the fields we render.
 *
 * Checked against Consul's own sources (`agent/config/config.go`, `deprecated.go`, `builder.go`)
 * from 1.8 to 1.2x:
 * - the UI: 1.8 knows only the top-level `ui` (and refuses `ui_config` as an "invalid config
 *   key"); 1.9 added the `ui_config` block and deprecated `ui`, which later versions still accept.
 * - ACL tokens: up to 1.10 the management token is `acl.tokens.master`; 1.11 renamed it
 *   `acl.tokens.initial_management` (and `agent_master` → `agent_recovery`); 1.11+ still map the
 *   old names with a deprecation warning. `acl.tokens.agent` is the same in every version.
 * - unchanged 1.8 → 1.2x (same key, same meaning): datacenter, primary_datacenter, node_name,
 *   node_id, data_dir, server, bootstrap, bootstrap_expect, bind_addr, advertise_addr,
 *   client_addr, retry_join, retry_interval, performance.raft_multiplier,
 *   performance.leave_drain_time, ports.http, leave_on_terminate, skip_leave_on_interrupt, disable_update_check,
 *   log_level, encrypt, acl.enabled, acl.default_policy, acl.enable_token_persistence.
 *   `bootstrap_expect: 1` is turned into `bootstrap: true` by every version (with a warning), so
 *   we write `bootstrap` directly.
 * The real 1.8.7 validates every combination we render (`consul validate`, integration tests).
 */
export interface ConsulConfigDialect {
  /** `ui` (< 1.9) or `ui_config.enabled` (>= 1.9). */
  ui: 'ui' | 'ui_config';
  /** `master` (< 1.11) or `initial_management` (>= 1.11). */
  managementToken: 'master' | 'initial_management';
}

/** The {@link ConsulConfigDialect} of a version. */
export function consulConfigDialect(version: ConsulVersion): ConsulConfigDialect {
  return {
    ui: consulVersionAtLeast(version, 1, 9) ? 'ui_config' : 'ui',
    managementToken: consulVersionAtLeast(version, 1, 11) ? 'initial_management' : 'master',
  };
}

/** The subset of Consul's agent configuration (JSON, snake_case) that Cluster Lab writes. */
export interface ConsulAgentConfig {
  datacenter: string;
  primary_datacenter?: string;
  node_name: string;
  node_id: string;
  data_dir: string;
  server: boolean;
  bootstrap?: boolean;
  bootstrap_expect?: number;
  bind_addr: string;
  advertise_addr: string;
  client_addr: string;
  retry_join: string[];
  retry_interval: string;
  performance: { raft_multiplier: number; leave_drain_time: string };
  ports: { http: number };
  leave_on_terminate: boolean;
  skip_leave_on_interrupt: boolean;
  disable_update_check: boolean;
  /** Consul < 1.9. */
  ui?: boolean;
  /** Consul >= 1.9. */
  ui_config?: { enabled: boolean };
  log_level: string;
  encrypt?: string;
  acl?: {
    enabled: boolean;
    default_policy: 'deny' | 'allow';
    enable_token_persistence: boolean;
    /** `master` for Consul < 1.11, `initial_management` from 1.11 on. */
    tokens: { master?: string; initial_management?: string; agent: string };
  };
}

/** Result of {@link renderConsulConfig}. */
export interface RenderedConsulConfig {
  config: ConsulAgentConfig;
  /** The config file content (pretty JSON + newline). Contains secrets (gossip key, token): mode 0600. */
  json: string;
  /** Things the operator should know, emitted by the agent as `warn` log events. */
  warnings: string[];
  /** Where this node's HTTP API answers (`<clusterAddress>:<httpPort>`). */
  httpAddress: string;
}

/**
 * Renders the Consul agent configuration for this node, in the keys `facts.version` understands
 * (see {@link ConsulConfigDialect}). Pure: same input, same output.
 *
 * - `bind_addr`/`advertise_addr` are the cluster address — never `0.0.0.0`, which lets Consul
 *   pick docker0 or the uplink (the original tool's bug); the address must lie in `config.subnet`.
 * - `client_addr` is loopback + the cluster address (+ the leader address with
 *   `serveOnLeaderAddress`), or `0.0.0.0` with a warning when `consul.exposeUi` is set.
 * - a bootstrapping leader is a server (`bootstrap`, or `bootstrap_expect` N for an HA start)
 *   and joins nobody; every other agent `retry_join`s `join` (default: the leader address) and
 *   never bootstraps.
 * - with a management token in `security`: ACLs on, `default_policy: deny`, tokens persisted;
 *   servers carry the management token (`master` before 1.11, `initial_management` from 1.11)
 *   and every agent its own `agent` token. With a gossip key: `encrypt`. `security` defaults to
 *   the config's own `consul.encrypt`/`consul.aclToken` ({@link consulSecurity} without keys).
 *
 * @example
 * ```ts
 * const { json } = renderConsulConfig(config, {
 *   role: 'follower', server: false, clusterAddress: '192.168.200.101', leaderAddress: '192.168.200.1',
 *   nodeName: 'pi2', nodeId: await readNodeId(), dataDir: '/var/lib/cluster-lab/consul',
 *   version: parseConsulVersion('Consul v1.8.7'),
 * });
 * ```
 */
export function renderConsulConfig(
  config: ClusterConfig,
  facts: ConsulConfigFacts,
  security: ConsulSecurity = consulSecurity(config, undefined, facts.nodeName),
): RenderedConsulConfig {
  const consul = config.consul;
  const dialect = consulConfigDialect(requireSupportedConsul(facts.version));
  checkAddress('clusterAddress', facts.clusterAddress, config.subnet);
  checkAddress('leaderAddress', facts.leaderAddress, config.subnet);
  if (!/^[A-Za-z0-9-]{1,63}$/.test(facts.nodeName)) {
    throw consulError('CONSUL_BAD_ADDRESS', `Consul node name ${JSON.stringify(facts.nodeName)} must be a host name (letters, digits, -)`, {
      hint: 'set `hostname` in the config or give the machine a plain host name',
      errorClass: 'config',
    });
  }
  if (!facts.dataDir.startsWith('/')) {
    throw consulError('CONSUL_BAD_ADDRESS', `Consul data dir ${JSON.stringify(facts.dataDir)} must be an absolute path`, {
      errorClass: 'config',
    });
  }
  const isLeader = facts.role === 'leader';
  const bootstraps = isLeader && facts.bootstrap !== false;
  if (facts.bootstrap === true && !isLeader) {
    throw consulError('CONSUL_BAD_ADDRESS', 'only the leader may bootstrap the Consul cluster (a follower asked to)', {
      hint: 'followers join the leader; two bootstrapped servers would be two Raft clusters',
    });
  }
  const retryJoin = facts.join ?? (bootstraps ? [] : isLeader ? [] : [facts.leaderAddress]);
  if (!bootstraps && retryJoin.length === 0) {
    throw consulError('CONSUL_BAD_ADDRESS', 'a leader that does not bootstrap needs the addresses of the Consul servers to join', {
      hint: 'pass facts.join (the servers of the existing cluster)',
    });
  }
  for (const [i, address] of retryJoin.entries()) checkAddress(`join[${i}]`, address, config.subnet);
  const server = bootstraps || facts.server;
  const warnings: string[] = [];
  if (facts.role === 'follower' && facts.clusterAddress === facts.leaderAddress) {
    throw consulError('CONSUL_BAD_ADDRESS', `follower cluster address ${facts.clusterAddress} equals the leader address`, {
      hint: 'a follower must lease its own address before starting Consul',
    });
  }
  const httpAddresses = ['127.0.0.1', facts.clusterAddress];
  if (facts.serveOnLeaderAddress && facts.leaderAddress !== facts.clusterAddress) httpAddresses.push(facts.leaderAddress);
  const clientAddr = consul.exposeUi ? '0.0.0.0' : httpAddresses.join(' ');
  if (consul.exposeUi) {
    warnings.push(
      `consul.exposeUi is set: the Consul HTTP API and UI listen on all addresses (0.0.0.0:${consul.httpPort}), including the uplink/home LAN${security.managementToken ? '' : ', without an ACL token'}`,
    );
  }
  const out: ConsulAgentConfig = {
    datacenter: consul.datacenter,
    node_name: facts.nodeName,
    node_id: facts.nodeId,
    data_dir: facts.dataDir,
    server,
    bind_addr: facts.clusterAddress,
    advertise_addr: facts.clusterAddress,
    client_addr: clientAddr,
    retry_join: retryJoin,
    retry_interval: CONSUL_RETRY_INTERVAL,
    performance: { raft_multiplier: CONSUL_RAFT_MULTIPLIER, leave_drain_time: CONSUL_LEAVE_DRAIN_TIME },
    ports: { http: consul.httpPort },
    // `stop` undoes `start`: a stopped node should leave the cluster, not linger as "failed".
    leave_on_terminate: true,
    // SIGINT means "shut down without leaving": `stop` sends it when the whole cluster stops
    // (nobody remains to leave). Servers default to this already; clients would leave.
    skip_leave_on_interrupt: true,
    disable_update_check: true,
    ...(dialect.ui === 'ui' ? { ui: server } : { ui_config: { enabled: server } }),
    log_level: 'INFO',
  };
  if (bootstraps) {
    const expect = facts.bootstrapExpect ?? 1;
    if (!Number.isInteger(expect) || expect < 1 || expect > consul.servers) {
      throw consulError('CONSUL_BAD_ADDRESS', `bootstrap_expect ${expect} must be between 1 and consul.servers (${consul.servers})`, {
        errorClass: 'config',
      });
    }
    if (expect === 1) out.bootstrap = true;
    else out.bootstrap_expect = expect;
  }
  if (security.encrypt) out.encrypt = security.encrypt;
  if (security.managementToken) {
    // Default deny refuses the node's own catalog entry without an agent token; with a user's
    // single token that token is the agent token too, with derived ones each node has its own.
    const agent = security.agentToken ?? security.managementToken;
    out.primary_datacenter = consul.datacenter;
    out.acl = {
      enabled: true,
      default_policy: 'deny',
      enable_token_persistence: true,
      // Servers create the management token at bootstrap; clients never hold it in their config.
      tokens: server ? managementTokens(dialect, security.managementToken, agent) : { agent },
    };
  }
  return {
    config: out,
    json: `${JSON.stringify(out, null, 2)}\n`,
    warnings,
    httpAddress: `${facts.clusterAddress}:${consul.httpPort}`,
  };
}

function managementTokens(
  dialect: ConsulConfigDialect,
  token: string,
  agent: string,
): { master?: string; initial_management?: string; agent: string } {
  return dialect.managementToken === 'master' ? { master: token, agent } : { initial_management: token, agent };
}

function checkAddress(field: string, address: string, subnet: string): void {
  if (!isIpv4(address) || address === '0.0.0.0') {
    throw consulError('CONSUL_BAD_ADDRESS', `${field} ${JSON.stringify(address)} must be a concrete IPv4 address`, {
      hint: 'Consul binds to the cluster address only; 0.0.0.0 would let it pick docker0 or the uplink',
    });
  }
  if (!cidrContains(subnet, address)) {
    throw consulError('CONSUL_BAD_ADDRESS', `${field} ${address} is outside the cluster subnet ${subnet}`, {
      hint: 'Consul must bind to the cluster link, never docker0 or the uplink',
    });
  }
}
