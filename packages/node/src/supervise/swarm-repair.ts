import { type ClusterStore, describeError, type EventSink, ignoreEvents } from '@cluster-lab/core';
import { type DockerClient, inspectEngine, type JoinResult, swarmKeys } from '@cluster-lab/swarm';

/** How often the supervisor checks that its own engine is still a working member of the swarm. */
export const SWARM_REPAIR_INTERVAL_MS = 5_000;
/**
 * How long an engine may report `error` before the node re-joins. dockerd retries a stopped
 * swarm node by itself with back-off, so a passing error (a manager restarting) is left alone.
 */
export const SWARM_ERROR_GRACE_MS = 15_000;
/**
 * How long an engine may report `pending` (reconnecting) before the node re-joins: longer than a
 * dockerd restart or a manager election, shorter than a user's patience.
 */
export const SWARM_PENDING_GRACE_MS = 60_000;

/** Options of {@link SwarmRepair}. */
export interface SwarmRepairOptions {
  /** This node's Docker API. */
  docker: DockerClient;
  /** The cluster store (where the reconciler marks nodes removed from the swarm). */
  store: ClusterStore;
  /**
   * Joins the cluster's swarm afresh — the `join` of `@cluster-lab/swarm` with this node's
   * options. It leaves an `error` state with force and joins through a live manager.
   */
  rejoin: () => Promise<JoinResult>;
  /** Swarm store key prefix; default the swarm package's. */
  keyPrefix?: string;
  /** Epoch clock (ms). */
  now?: () => number;
  onEvent?: EventSink;
}

/** What {@link SwarmRepair} did last, for the supervisor's status file. */
export interface SwarmRepairState {
  /** Since when (epoch ms) the engine reports `error` or `pending`; absent while it does not. */
  stuckSince?: number;
  /** `error` or `pending` while the engine is stuck. */
  stuckState?: 'error' | 'pending';
  /** The engine's error text while it is stuck. */
  error?: string;
  /** The last re-join: when, why, and how it ended. */
  lastRepair?: { at: number; reason: string; ok: boolean; detail: string };
}

/**
 * Keeps a started node in the swarm without a restart, for the two ways Swarm strands a node on
 * its own:
 *
 * - **`error`**: dockerd stopped its swarm node and cannot start it again. Seen when a worker is
 *   promoted after the manager it originally joined through is gone for good: dockerd keeps that
 *   join address and every restart of the new manager dials it to join Raft ("can't initialize
 *   raft node … no route to host"), for ever. After {@link SWARM_ERROR_GRACE_MS} the node leaves
 *   with force and joins again through a live manager (the store's join addresses).
 * - **`pending` for good**: the engine keeps reconnecting under an identity the swarm no longer
 *   takes (after {@link SWARM_PENDING_GRACE_MS}); same repair.
 * - **removed**: a manager removed this node (membership upkeep after `membership.removeAfter`, or
 *   by hand) while it was cut off; its engine still believes it is a member and never finds out.
 *   The reconciler marks the node id in the store; the node joins again with a fresh identity.
 *
 * The reconciler removes the stale entry the old identity leaves behind.
 */
export class SwarmRepair {
  private readonly o: SwarmRepairOptions;
  private readonly now: () => number;
  private readonly emit: EventSink;
  private readonly current: SwarmRepairState = {};

  constructor(options: SwarmRepairOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.emit = options.onEvent ?? ignoreEvents;
  }

  /** A snapshot for the status file. */
  state(): SwarmRepairState {
    return structuredClone(this.current);
  }

  /** One check; re-joins when needed. Never throws: a failed re-join is retried next round. */
  async round(): Promise<SwarmRepairState> {
    try {
      const reason = await this.reasonToRejoin();
      if (reason) await this.repair(reason);
    } catch (error) {
      this.emit({ type: 'log', level: 'warn', message: `swarm membership check failed: ${describeError(error)}`, source: 'swarm' });
    }
    return this.state();
  }

  private async reasonToRejoin(): Promise<string | undefined> {
    const info = await inspectEngine(this.o.docker);
    const state = info.Swarm.LocalNodeState;
    if (state !== 'error' && state !== 'pending') {
      this.clearStuck();
    } else {
      if (this.current.stuckState !== state) this.current.stuckSince = this.now();
      this.current.stuckState = state;
      this.current.error = info.Swarm.Error ?? '';
      const forMs = this.now() - (this.current.stuckSince as number);
      if (forMs < (state === 'error' ? SWARM_ERROR_GRACE_MS : SWARM_PENDING_GRACE_MS)) return undefined;
      return `the swarm node is "${state}" for ${Math.round(forMs / 1000)} s (${this.current.error || 'no detail'})`;
    }
    if (state === 'active' && info.Swarm.NodeID) {
      const keys = swarmKeys(this.o.keyPrefix);
      if (await this.o.store.get(keys.removed(info.Swarm.NodeID)))
        return `a manager removed this node (${info.Swarm.NodeID}) from the swarm`;
    }
    return undefined;
  }

  private clearStuck(): void {
    delete this.current.stuckSince;
    delete this.current.stuckState;
    delete this.current.error;
  }

  private async repair(reason: string): Promise<void> {
    const at = this.now();
    this.emit({ type: 'log', level: 'warn', message: `${reason}: joining the swarm again`, source: 'swarm' });
    try {
      const joined = await this.o.rejoin();
      const detail = `joined again as ${joined.role} (${joined.nodeId})`;
      this.current.lastRepair = { at, reason, ok: true, detail };
      this.clearStuck();
      this.emit({ type: 'log', level: 'info', message: detail, source: 'swarm' });
    } catch (error) {
      this.current.lastRepair = { at, reason, ok: false, detail: describeError(error) };
      this.emit({ type: 'log', level: 'warn', message: `joining the swarm again failed: ${describeError(error)}`, source: 'swarm' });
    }
  }
}
