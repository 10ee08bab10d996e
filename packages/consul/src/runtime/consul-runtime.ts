/** What a runtime needs to start the agent (all host paths). */
export interface ConsulStartSpec {
  /** Rendered JSON config (see `renderConsulConfig`), mode 0600. */
  configFile: string;
  /** Consul's data directory on the host. */
  dataDir: string;
  /** Node name, for messages. */
  nodeName: string;
  /** Readiness deadline. Default 30 s. */
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

/**
 * Runs the Consul agent: as a container (`ContainerRuntime`) or a host executable
 * (`BinaryRuntime`). Both are idempotent — `start` leaves a running agent untouched, `stop` of a
 * stopped agent succeeds — and stop gracefully (SIGTERM → the agent leaves the cluster).
 */
export interface ConsulRuntime {
  readonly kind: 'container' | 'binary';
  /** Starts the agent and waits until it runs; `started: false` when it was already running. */
  start(spec: ConsulStartSpec): Promise<{ started: boolean }>;
  /** Stops (and for containers removes) the agent. Returns false when nothing was running. */
  stop(): Promise<boolean>;
  status(): Promise<ConsulRuntimeStatus>;
  /** The last `lines` lines of the agent's output. */
  logs(lines?: number): Promise<string>;
  /** One line saying what runs, e.g. `container cluster-lab-consul (hashicorp/consul:1.20, linux/arm64)`. */
  describe(): string;
}

/** Consul's own log line once the agent is up (printed by real Consul and the fake alike). */
export const CONSUL_READY_LINE = 'Consul agent running!';
