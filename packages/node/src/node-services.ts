import type { ConsulRuntime, ConsulVersion } from '@cluster-lab/consul';
import type { ClusterStore, EventSink, SysctlChange } from '@cluster-lab/core';
import type { ProbeAnswer, RestoreLeaseFileResult } from '@cluster-lab/dhcp';
import type { JOURNAL_KINDS } from './boot/journal-kinds.js';
import type { ClusterIdentity } from './cluster-state/cluster-identity.js';
import type { ClusterDiscovery } from './cluster-state/discover-cluster.js';
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
  /**
   * Members of an existing cluster heard on the election channel: their node addresses, and the
   * id of their cluster when they said it. The leader's discovery asks them first, so a node that
   * hears a member joins that cluster instead of bootstrapping one. Undefined when the election
   * heard no member (or its channel does not carry membership).
   */
  members?: { nodeAddress: string; clusterId?: string }[];
  /**
   * A node that may win: the node address it would take as leader, chosen and ARP-probed while
   * the election ran (see `prepareNodeAddress`). Only the winner's node-address step awaits it.
   */
  nodeAddress?: Promise<string>;
}

/** The leader's own node address on the cluster link. */
export interface NodeAddressOutcome {
  ip: string;
  /** `ip/prefix` on the link. */
  cidr: string;
  /** True when this start added it (false: it was already there). */
  added: boolean;
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

/** The Consul runtime and the agent's version, resolved while the election runs. */
export interface PreparedConsul {
  runtime: ConsulRuntime;
  version: ConsulVersion;
}

/** What the Consul step needs besides the context. */
export interface ConsulStartArgs {
  role: 'leader' | 'follower';
  /** This node's node address: Consul binds it. */
  address: string;
  /** From `prepareConsul`, started before the election; default: resolved now. */
  prepared?: Promise<PreparedConsul>;
  /** The leader's discovery: bootstrap a new cluster, or join the one that answered. Required for the leader. */
  discovery?: ClusterDiscovery;
}

/** A Consul agent whose process was started (journal `outcome` at once), not yet known to run. */
export interface BegunConsul {
  outcome: ConsulOutcome;
  /** True when this agent bootstraps a new cluster (exactly one node ever does, per cluster). */
  bootstrap: boolean;
  /** The id of the cluster joined; undefined when bootstrapping (registration decides it). */
  clusterId?: string;
  /** The Consul servers the agent joins (empty when bootstrapping). */
  join: string[];
  /**
   * Waits until the agent runs — not for its Raft leader: the store it returns waits for the
   * leader before its first operation, so the next steps overlap a first server's election.
   */
  running(): Promise<RunningConsul>;
}

/** A running Consul agent, as the steps after the Consul step use it. */
export interface RunningConsul {
  /** The agent's KV as the cluster store; its first operation waits for the Raft leader. */
  store: ClusterStore;
  /** Addresses of the cluster's Consul servers (Raft peers), as the agent knows them now. */
  servers(): Promise<string[]>;
  /** Releases the client connections. */
  close(): void;
}

/** How this node joined Swarm. */
export interface SwarmOutcome {
  role: 'manager' | 'worker';
  nodeId: string;
  /** False when the node was already part of this swarm. */
  joined: boolean;
  /** Docker's id of the swarm. */
  clusterId?: string;
  /** Whether Docker's `docker_gwbridge` existed before the join; false: the join made it, so `stop` removes it. */
  gatewayBridgeExisted?: boolean;
}

/** What the Swarm step needs besides the context. */
export interface SwarmJoinArgs {
  role: 'leader' | 'follower';
  /** This node's node address: Swarm advertises it. */
  address: string;
  /**
   * Whether this node holds a slot of the cluster's slot table (then it is a manager, as it is a
   * Consul server). Undefined without Consul: Swarm then decides by its own free slots.
   */
  manager?: boolean;
  /** True when this node bootstrapped the cluster: it initialises the swarm. */
  bootstrap: boolean;
  consul: RunningConsul;
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
  /** Kernel settings the cluster link needs (`ip_nonlocal_bind`, the link's `promote_secondaries`); returns what changed. */
  tuneKernel(ctx: ServiceContext, link: LinkInfo): Promise<SysctlChange[]>;
  /** Puts one setting back, unless someone changed it since. */
  restoreKernelSetting(ctx: ServiceContext, change: SysctlChange): Promise<void>;
  /**
   * Starts resolving the Consul runtime and version (a `consul version` run, or the image's
   * label) — called before the election so it overlaps it.
   */
  prepareConsul(ctx: ServiceContext): Promise<PreparedConsul>;
  elect(ctx: ServiceContext, link: LinkInfo): Promise<ElectionOutcome>;
  releaseLeaderAddress(ctx: ServiceContext, link: string, cidr: string): Promise<void>;
  /** Leader: its own node address on the link (followers lease theirs). */
  assignNodeAddress(ctx: ServiceContext, link: LinkInfo, election: ElectionOutcome): Promise<NodeAddressOutcome>;
  releaseNodeAddress(ctx: ServiceContext, link: string, cidr: string): Promise<void>;
  /**
   * Leader: the leader address's duties (`takeLeaderDuties`): journal the claim, serve DHCP with
   * the node address reserved. `record` journals each change as it is made.
   */
  takeLeaderDuties(
    ctx: ServiceContext,
    args: { link: LinkInfo; election: ElectionOutcome; nodeAddress: string; record: (entry: LeaderDutyEntry) => Promise<void> },
  ): Promise<LeaderDuties>;
  stopDhcpServer(ctx: ServiceContext, ref: DaemonRef): Promise<void>;
  /** Follower: lease an address from the leader (after a contested election, once the winner serves). */
  obtainLease(ctx: ServiceContext, link: LinkInfo, election: ElectionOutcome): Promise<LeaseOutcome>;
  releaseLease(ctx: ServiceContext, link: string, lease: LeaseOutcome): Promise<void>;
  /**
   * Leader: discover before bootstrap — is there a cluster at the addresses this node knows
   * (`cluster.json`, the lease database, members heard in the election)?
   */
  discoverCluster(ctx: ServiceContext, args: { election: ElectionOutcome; nodeAddress: string }): Promise<ClusterDiscovery>;
  /**
   * Starts this node's Consul agent on its node address: it bootstraps a new cluster (leader,
   * nothing discovered) or joins the existing servers as a server or client, per the slot it
   * claims in the cluster's slot table. Returns as soon as the agent was started.
   */
  beginConsul(ctx: ServiceContext, args: ConsulStartArgs): Promise<BegunConsul>;
  stopConsul(ctx: ServiceContext, outcome: ConsulOutcome): Promise<void>;
  /**
   * The bootstrapping node: takes its own slot and writes the cluster's identity record (the
   * record tells joiners they may claim slots). Keeps an identity that is already there.
   */
  registerCluster(ctx: ServiceContext, consul: RunningConsul): Promise<ClusterIdentity>;
  joinSwarm(ctx: ServiceContext, args: SwarmJoinArgs): Promise<SwarmOutcome>;
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
  /** `stop --purge`: delete state kept across restarts on purpose (DHCP leases, `cluster.json`). Returns the files removed. */
  purgeState(ctx: ServiceContext): Promise<string[]>;
}

/** One change `takeLeaderDuties` made: a journal entry (kind from `JOURNAL_KINDS`) that `stop` undoes. */
export interface LeaderDutyEntry {
  kind: (typeof JOURNAL_KINDS)['leaderAddress'] | (typeof JOURNAL_KINDS)['dhcpServer'];
  key: string;
  data: Record<string, unknown>;
}

/** What `takeLeaderDuties` did. */
export interface LeaderDuties {
  /** The changes made, oldest first; hand them to `releaseLeaderDuties` to undo them. */
  entries: LeaderDutyEntry[];
  /** The DHCP server, when `dhcp.enabled`. */
  dhcp?: DaemonRef;
  /** What was restored from the replicated lease table (when a store was given). */
  restored?: RestoreLeaseFileResult;
}
