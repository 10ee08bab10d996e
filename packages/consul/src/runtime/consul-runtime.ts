import type { ConsulVersion } from '../version/consul-version.js';

/** What a runtime needs to start the agent (all host paths). */
export interface ConsulStartSpec {
  /** Rendered JSON config (see `renderConsulConfig`), mode 0600. */
  configFile: string;
  /** Consul's data directory on the host. */
  dataDir: string;
  /** Node name, for messages. */
  nodeName: string;
  /** Readiness deadline of {@link ConsulRuntime.start}. Default {@link DEFAULT_READY_TIMEOUT_MS}. */
  readyTimeoutMs?: number;
}

/** What {@link ConsulRuntime.status} reports. */
export interface ConsulRuntimeStatus {
  running: boolean;
  /** Host pid (binary runtime) or container pid. */
  pid?: number;
  /** Container id (container runtime). */
  containerId?: string;
  /** One line for `cluster-lab status`. */
  detail: string;
}

/** How {@link ConsulRuntime.stop} ends the agent. */
export interface ConsulStopOptions {
  /**
   * `graceful` (default): SIGTERM — the agent leaves the cluster (gossip leave; a server also
   * leaves the Raft peer set) and exits. When `left` reports that the leave has done its part, a
   * second SIGTERM ends Consul's remaining fixed waits (1.8: ~3 s of leave propagation, then
   * `leave_drain_time`), which serve clients retrying across a WAN, not our cluster link.
   *
   * `none`: the whole cluster is stopping, so there is no one to leave: SIGINT, which our agents
   * (rendered with `skip_leave_on_interrupt`) answer by shutting down at once.
   */
  leave?: 'graceful' | 'none';
  /** Polled during a graceful leave; true once the agent's leave has done what the cluster needs (see `consulLeaveDone`). */
  left?: () => Promise<boolean>;
}

/**
 * How often a graceful stop asks whether the leave is done (each ask is a local HTTP call or two;
 * a 1.8.7 agent is out of the gossip pool ~0.1–0.4 s after SIGTERM).
 */
export const CONSUL_LEAVE_POLL_MS = 50;

/**
 * Runs the Consul agent: as a container (`ContainerRuntime`) or a host executable
 * (`BinaryRuntime`). Both are idempotent — `start` leaves a running agent untouched, `stop` of a
 * stopped agent succeeds — and stop gracefully (SIGTERM → the agent leaves the cluster).
 */
export interface ConsulRuntime {
  readonly kind: 'container' | 'binary';
  /**
   * The agent's version: `consul version -format=json` for a binary, the image's version label,
   * `CONSUL_VERSION` env or tag for a container (pulling a missing image when allowed). Throws
   * `CONSUL_NOT_INSTALLED` when there is no agent, `CONSUL_VERSION_UNKNOWN` when it cannot tell.
   */
  version(): Promise<ConsulVersion>;
  /** Starts the agent and waits until it runs; `started: false` when it was already running. */
  start(spec: ConsulStartSpec): Promise<{ started: boolean }>;
  /**
   * Starts the agent and returns at once (`started: false` when it was already running): the
   * first half of {@link start}, so a caller can overlap the agent's start-up with other work.
   * Follow with {@link waitRunning}.
   */
  begin(spec: ConsulStartSpec): Promise<{ started: boolean }>;
  /**
   * Waits until the agent that {@link begin} started logs {@link CONSUL_READY_LINE}; throws
   * `CONSUL_START_FAILED` with the log tail when it exits or does not get there in `timeoutMs`
   * (default {@link DEFAULT_READY_TIMEOUT_MS}), after stopping it. Returns at once when `begin`
   * found it already running.
   */
  waitRunning(timeoutMs?: number): Promise<void>;
  /** Stops (and for containers removes) the agent, leaving the cluster as `options` say. Returns false when nothing was running. */
  stop(options?: ConsulStopOptions): Promise<boolean>;
  status(): Promise<ConsulRuntimeStatus>;
  /** The last `lines` lines of the agent's output. */
  logs(lines?: number): Promise<string>;
  /** One line saying what runs, e.g. `container cluster-lab-consul (hashicorp/consul:1.20, linux/arm64)`. */
  describe(): string;
}

/** Consul's own log line once the agent is up (printed by real Consul and the fake alike). */
export const CONSUL_READY_LINE = 'Consul agent running!';

/** How long {@link ConsulRuntime.waitRunning} waits by default (a 1.8.7 agent logs it ~0.5 s after exec). */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;

/** How often readiness is polled: a file read or an inspect per poll is cheap, every 25 ms counts at start-up. */
export const CONSUL_READY_POLL_MS = 25;
