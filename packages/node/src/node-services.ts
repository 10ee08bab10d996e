import type { EventSink } from '@cluster-lab/core';
import type { ProbeAnswer } from '@cluster-lab/dhcp';
import type { NodeFacts } from './node-facts.js';

/** The cluster link as the boot flow needs it. */
export interface LinkInfo {
  name: string;
  mac: string;
  mtu: number;
}

/** What `ensureLink` did, journaled so `stop` undoes exactly that. */
export interface LinkChange extends LinkInfo {
  created: boolean;
  broughtUp: boolean;
}

/** Outcome of the leader election; the DHCP step of the same start reads it. */
export interface ElectionOutcome {
  role: 'leader' | 'follower';
  /** True when this node added the leader address (and must remove it on stop). */
  claimed: boolean;
  /** Nodes that took part (1 when this node already held the address, or heard nobody). */
  candidates: number;
  /**
   * The rogue-DHCP probe, started during the election instead of after it (it takes seconds),
   * when this node could win and serves DHCP. Only a winner's DHCP server step awaits it;
   * undefined when no probe ran (the server step then probes itself).
   */
  dhcpProbe?: Promise<ProbeAnswer | undefined>;
}

/** A lease applied to the cluster link. */
export interface LeaseOutcome {
  /** `ip/prefix` now on the link. */
  cidr: string;
  ip: string;
  serverId: string;
  /** True when the address was added by us (false when it was already there). */
  added: boolean;
  /** Pid file of the background renewal client, when one runs. */
  renewalPidFile?: string;
}

/** A started daemon, enough to stop it again. */
export interface DaemonRef {
  pidFile: string;
  /** False when it was already running before this start. */
  started: boolean;
  [key: string]: unknown;
}

/** How this node's Consul agent was started. */
export interface ConsulOutcome {
  server: boolean;
  /** Opaque data the services need to stop it (container id or pid file, data dir). */
  ref: Record<string, unknown>;
  started: boolean;
}

/** How this node joined Swarm. */
export interface SwarmOutcome {
  role: 'manager' | 'worker';
  nodeId: string;
  /** False when the node was already part of this swarm. */
  joined: boolean;
  /** Whether Docker's `docker_gwbridge` existed before the join; false: the join made it, so `stop` removes it. */
  gatewayBridgeExisted?: boolean;
}

/** Context shared by every service call of one `start` or `stop`. */
export interface ServiceContext {
  /** The node: config and everything derived from it, built once. */
  node: NodeFacts;
  signal: AbortSignal;
  onEvent: EventSink;
  /**
   * `stop` only: every node of the cluster is stopping now (`lab down`, the whole cluster
   * powered off), so there is nobody to leave gracefully — Swarm and Consul are left at once.
   */
  clusterDown?: boolean;
}

/**
 * Everything the boot flow does to the machine, one method per role action. The real
 * implementation composes the `@cluster-lab/*` packages; unit tests pass a fake. Each
 * method is idempotent, and each `start…`/`ensure…` has an undo counterpart that succeeds
 * when the thing is already gone.
 */
export interface NodeServices {
  /** Preflight: the uplink/cluster NIC exists, programs are installed. Throws ConfigError/ClusterLabError. */
  preflight(ctx: ServiceContext): Promise<void>;
  ensureLink(ctx: ServiceContext): Promise<LinkChange>;
  teardownLink(ctx: ServiceContext, change: LinkChange): Promise<void>;
  elect(ctx: ServiceContext, link: LinkInfo): Promise<ElectionOutcome>;
  releaseLeaderAddress(ctx: ServiceContext, link: string, cidr: string): Promise<void>;
  /** Leader: serve DHCP on the cluster link, after the election's rogue-server probe came back empty. */
  startDhcpServer(ctx: ServiceContext, link: LinkInfo, election: ElectionOutcome): Promise<DaemonRef>;
  stopDhcpServer(ctx: ServiceContext, ref: DaemonRef): Promise<void>;
  /** Follower: lease an address from the leader (after a contested election, once the winner serves). */
  obtainLease(ctx: ServiceContext, link: LinkInfo, election: ElectionOutcome): Promise<LeaseOutcome>;
  releaseLease(ctx: ServiceContext, link: string, lease: LeaseOutcome): Promise<void>;
  startConsul(ctx: ServiceContext, args: { role: 'leader' | 'follower'; address: string }): Promise<ConsulOutcome>;
  stopConsul(ctx: ServiceContext, outcome: ConsulOutcome): Promise<void>;
  joinSwarm(ctx: ServiceContext, args: { role: 'leader' | 'follower'; address: string }): Promise<SwarmOutcome>;
  leaveSwarm(ctx: ServiceContext, outcome: SwarmOutcome): Promise<void>;
  /**
   * Starts the node's supervisor: a small detached process (`cluster-lab supervise`, running
   * `superviseNode`) that keeps reconciling the swarm (labels, stale nodes, manager count) and
   * watches leadership after `start` has exited.
   */
  startSupervisor(ctx: ServiceContext): Promise<DaemonRef>;
  stopSupervisor(ctx: ServiceContext, ref: DaemonRef): Promise<void>;
  /**
   * `stop --force`: clean up by inspection when the journal is missing or corrupt — leave the
   * swarm, stop daemons named by pid files in the state dir, remove the leader address and a
   * cluster link this backend would have created. Returns what was removed.
   */
  forceCleanup(ctx: ServiceContext): Promise<string[]>;
  /** `stop --purge`: delete state kept across restarts on purpose (DHCP leases). Returns the files removed. */
  purgeState(ctx: ServiceContext): Promise<string[]>;
}
