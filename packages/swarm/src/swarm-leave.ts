import { setTimeout as sleep } from 'node:timers/promises';
import { type ClusterStore, describeError, type EventSink, ignoreEvents } from '@cluster-lab/core';
import {
  type DockerClient,
  type DockerInfo,
  inspectEngine,
  listSwarmNodes,
  normaliseNode,
  type SwarmNodeObject,
  updateSwarmNode,
} from './docker-api.js';
import { isTransientSwarmError, SWARM_CALLS, swarmError, toSwarmError } from './errors.js';
import { GATEWAY_BRIDGE, removeGatewayBridge } from './gateway-bridge.js';
import { canStepDown, emptySlots, type ManagerSlots, releaseManagerSlot } from './manager-count.js';
import { readJson, swarmKeys, writeJson } from './store-keys.js';
import { SLOTS_LOCK_TIMEOUT_MS } from './swarm-reconcile.js';

/** Poll period while waiting for a demotion to take effect or for other nodes to leave. */
export const LEAVE_POLL_MS = 100;
/** How long {@link leave} waits for a self-demotion to show in `docker info`, or for other managers to finish stepping down. */
export const DEMOTE_TIMEOUT_MS = 15_000;
/**
 * How long the swarm's Raft leader, when it stops, waits for the other managers to start
 * stepping down too before it hands leadership over (demotes itself). On a simultaneous stop of
 * every node the others ask for their demotion within this and the leader simply leaves last;
 * stopping the leader alone pays it once.
 */
export const LEADER_HANDOVER_GRACE_MS = 1_000;
/**
 * How long the last manager waits for managers that stepped down during its leave to report
 * (in the cluster store) that they are workers: one still in the middle of its demotion when
 * the swarm ends would wait out {@link DEMOTE_TIMEOUT_MS} for a demotion nobody can finish.
 */
export const STEPPED_DOWN_WAIT_MS = 5_000;

/** Options of {@link leave}. */
export interface LeaveOptions {
  /** This node's local Docker API. */
  docker: DockerClient;
  /**
   * The cluster store: when given, the node marks its ID as left (so managers remove its
   * entry), frees its manager slot, and the last node clears the cluster's swarm keys.
   */
  store?: ClusterStore;
  /**
   * Leave even when it costs the quorum (a manager whose demotion is refused) or strands other
   * nodes (the last manager while workers are still up). Default false.
   */
  force?: boolean;
  /** As the last manager, wait this long for workers still in the swarm to leave first (simultaneous `stop`). Default 0. */
  waitForOthersMs?: number;
  /**
   * Every node of the cluster is stopping at once (`cluster-lab lab down`, powering off the whole
   * cluster): nobody remains whose quorum a demotion would protect, so the node leaves at once
   * with force and clears the cluster's swarm records. Wrong for a node that stops alone.
   */
  clusterDown?: boolean;
  /**
   * Also remove Docker's `docker_gwbridge` network — when the swarm init/join of `start` made it
   * (`gatewayBridgeExisted: false` in its result). Done even when the node already left (a retried stop).
   */
  removeGatewayBridge?: boolean;
  /** Store key prefix; default `swarm` (`DEFAULT_KEY_PREFIX`). */
  keyPrefix?: string;
  onEvent?: EventSink;
}

/** What {@link leave} did. */
export interface LeaveResult {
  /** False when the node was not in a swarm (nothing to do). */
  left: boolean;
  wasManager: boolean;
  /** The node demoted itself before leaving. */
  demoted: boolean;
  /** Swarm's `force` flag was used (last manager, whole-cluster stop, or `force` with quorum at risk). */
  forced: boolean;
  /** This was the last manager: the swarm is gone. */
  lastManager: boolean;
  /** `docker_gwbridge` was removed. */
  removedGatewayBridge: boolean;
  durationMs: number;
}

/**
 * Takes this node out of the swarm (the `stop` counterpart of {@link initManager}/{@link join}).
 *
 * - worker: `POST /swarm/leave`;
 * - manager among others: demotes itself first when the remaining managers keep a reachable
 *   majority ({@link canStepDown}), waits until it is a worker, then leaves — so the quorum is
 *   never lost by a stop; refused without `force` when it would be (`SWARM_QUORUM_AT_RISK`);
 * - the swarm's Raft leader leaves last: while the other managers are stepping down (a
 *   simultaneous stop) it waits for them instead of handing its leadership to a node that is
 *   about to go too; when another manager stays, it hands over after
 *   {@link LEADER_HANDOVER_GRACE_MS} (demotes itself like any manager). Many managers stepping
 *   down at once is safe: the leader applies the demotions one by one, and each demoted node
 *   stays until its own demotion is through;
 * - last manager: waits for the managers that stepped down meanwhile to be workers (they mark
 *   themselves left in the store), and up to `waitForOthersMs` for workers still in the swarm,
 *   then leaves with force (the swarm ends); with workers still up and no `force` it fails with
 *   `SWARM_LAST_MANAGER` instead of stranding them;
 * - `clusterDown`: every node leaves at once with force.
 *
 * The store is bookkeeping only: after its first failed request (the leader's Consul may be
 * gone) every later one — also of a retry with the same store — fails at once.
 * Idempotent: a node outside any swarm returns `left: false`.
 *
 * @example
 * ```ts
 * await leave({ docker, store, waitForOthersMs: 15_000 });   // any node on `stop`
 * await leave({ docker, store, clusterDown: true });           // every node, whole cluster down
 * ```
 */
export async function leave(leaveOptions: LeaveOptions): Promise<LeaveResult> {
  const started = performance.now();
  const options = { ...leaveOptions, ...(leaveOptions.store ? { store: bestEffort(leaveOptions.store) } : {}) };
  const { docker, store } = options;
  const onEvent = options.onEvent ?? ignoreEvents;
  const keys = swarmKeys(options.keyPrefix);
  const result: LeaveResult = {
    left: false,
    wasManager: false,
    demoted: false,
    forced: false,
    lastManager: false,
    removedGatewayBridge: false,
    durationMs: 0,
  };
  const finish = () => ({ ...result, durationMs: Math.round(performance.now() - started) });

  const info = await inspectEngine(docker);
  if (info.Swarm.LocalNodeState === 'inactive') {
    if (options.removeGatewayBridge) result.removedGatewayBridge = await removeGatewayBridge(docker);
    return finish();
  }
  onEvent({ type: 'step-started', step: 'swarm-leave', title: 'leave Docker Swarm' });
  const hostname = info.Name;
  const nodeId = info.Swarm.NodeID;
  const isManager = info.Swarm.LocalNodeState === 'active' && info.Swarm.ControlAvailable;
  result.wasManager = isManager;
  // Nothing waits on a worker's leave: it is marked at once. A manager marks itself once it has
  // stepped down (see stepDown), which is what a last manager waits for.
  if (!isManager) await markLeft(options, nodeId, hostname, onEvent);

  if (options.clusterDown) {
    await swarmLeave(docker, true);
    result.forced = true;
  } else if (isManager) {
    await leaveAsManager(options, info, result, onEvent);
  } else {
    // A worker, or a node stuck pending/error: nothing to protect, leave directly.
    const force = info.Swarm.LocalNodeState !== 'active';
    await swarmLeave(docker, force);
    result.forced = force;
  }
  result.left = true;

  if (store) {
    try {
      if (result.lastManager || options.clusterDown) {
        // The swarm is gone (or going: every node is leaving): clear its tokens and records so
        // the next start begins fresh.
        for (const key of (await store.list(`${keys.prefix}/`)).keys()) await store.delete(key);
      } else {
        const lock = await store.lock(keys.slotsLock, { timeoutMs: SLOTS_LOCK_TIMEOUT_MS });
        try {
          const slots = (await readJson<ManagerSlots>(store, keys.slots))?.value ?? emptySlots();
          if (slots.holders[hostname]) await writeJson(store, keys.slots, releaseManagerSlot(slots, hostname));
        } finally {
          await lock.release();
        }
        await store.delete(keys.node(hostname));
        await store.delete(keys.applied(hostname));
      }
    } catch (error) {
      // The node has left; stale store entries are corrected by the next reconcile/init.
      onEvent({
        type: 'log',
        level: 'warn',
        message: `left the swarm but could not update the cluster store: ${describeError(error)}`,
        source: 'swarm',
      });
    }
  }
  if (options.removeGatewayBridge) {
    result.removedGatewayBridge = await removeGatewayBridge(docker);
    onEvent({
      type: 'log',
      level: 'info',
      message: result.removedGatewayBridge ? `removed ${GATEWAY_BRIDGE} (the swarm join made it)` : `${GATEWAY_BRIDGE} was already gone`,
      source: 'swarm',
    });
  }
  const done = finish();
  onEvent({
    type: 'step-finished',
    step: 'swarm-leave',
    title: 'leave Docker Swarm',
    durationMs: done.durationMs,
    detail: options.clusterDown
      ? 'left with the whole cluster'
      : result.lastManager
        ? 'last manager left; swarm removed'
        : `left as ${result.wasManager ? 'manager' : 'worker'}`,
  });
  return done;
}

/** Marks this node's ID as left in the store (managers then remove its entry); a store failure only warns. */
async function markLeft(options: LeaveOptions, nodeId: string, hostname: string, onEvent: EventSink): Promise<void> {
  if (!options.store || !nodeId) return;
  await options.store.put(swarmKeys(options.keyPrefix).left(nodeId), hostname).catch((error: unknown) => {
    onEvent({
      type: 'log',
      level: 'warn',
      message: `the cluster store is unreachable (${describeError(error)}); leaving without updating it`,
      source: 'swarm',
    });
  });
}

/** The Raft members of the swarm: managers, including those whose demotion is under way (desired role already `worker`). */
function raftMembers(nodes: readonly SwarmNodeObject[]): SwarmNodeObject[] {
  return nodes.filter((n) => n.ManagerStatus !== undefined || n.Spec.Role === 'manager');
}

async function leaveAsManager(options: LeaveOptions, info: DockerInfo, result: LeaveResult, onEvent: EventSink): Promise<void> {
  const selfId = info.Swarm.NodeID;
  const startedAt = Date.now();
  // Managers seen stepping down while we leave: if we end up last, they must be gone first.
  const steppingDown = new Set<string>();
  for (;;) {
    const nodes = await listSwarmNodes(options.docker);
    const self = nodes.find((n) => n.ID === selfId);
    const others = raftMembers(nodes).filter((n) => n.ID !== selfId);
    for (const n of others) if (n.Spec.Role === 'worker') steppingDown.add(n.ID);
    if (others.length === 0) {
      await leaveAsLastManager(options, info, result, steppingDown);
      return;
    }
    const staying = others.filter((n) => n.Spec.Role === 'manager');
    const waited = Date.now() - startedAt;
    const isLeader = self?.ManagerStatus?.Leader === true;
    if (!isLeader || (staying.length > 0 && waited >= LEADER_HANDOVER_GRACE_MS)) {
      if (await stepDown(options, info, nodes, self, result, onEvent)) return;
      // Refused as the last manager: the others finished stepping down meanwhile; go round again.
    }
    if (waited >= DEMOTE_TIMEOUT_MS) {
      if (!options.force) {
        throw swarmError(
          'SWARM_QUORUM_AT_RISK',
          `${info.Name} waited ${DEMOTE_TIMEOUT_MS} ms for ${others.map((n) => n.Description.Hostname).join(', ')} to finish stepping down`,
          { hint: 'check `docker node ls` on a manager, then retry the stop' },
        );
      }
      await swarmLeave(options.docker, true);
      result.forced = true;
      return;
    }
    await sleep(LEAVE_POLL_MS);
  }
}

/**
 * Demotes this manager, waits until it is a worker, marks it left and leaves. Returns false when
 * Swarm refused the demotion because this is now the last manager (the caller leaves as such).
 */
async function stepDown(
  options: LeaveOptions,
  info: DockerInfo,
  nodes: readonly SwarmNodeObject[],
  self: SwarmNodeObject | undefined,
  result: LeaveResult,
  onEvent: EventSink,
): Promise<boolean> {
  const { docker } = options;
  const managers = raftMembers(nodes);
  const reachable = managers.filter((n) => n.ManagerStatus?.Reachability === 'reachable').length;
  if (!self || !canStepDown({ managers: managers.length, reachable })) {
    if (!options.force) {
      throw swarmError(
        'SWARM_QUORUM_AT_RISK',
        `${info.Name} cannot step down: only ${reachable} of ${managers.length} managers are reachable`,
        {
          hint: 'bring the other managers back first, or pass force (the swarm may lose its quorum)',
        },
      );
    }
    await swarmLeave(docker, true);
    result.forced = true;
    return true;
  }
  try {
    await demoteSelf(docker, self);
  } catch (error) {
    if (/last manager/i.test((error as Error).message)) return false;
    throw error;
  }
  result.demoted = true;
  const deadline = Date.now() + DEMOTE_TIMEOUT_MS;
  for (;;) {
    const now = await inspectEngine(docker);
    if (!now.Swarm.ControlAvailable) break;
    if (Date.now() >= deadline) {
      throw swarmError('SWARM_QUORUM_AT_RISK', `${info.Name} was demoted but still reports being a manager after ${DEMOTE_TIMEOUT_MS} ms`, {
        hint: 'check `docker node ls` on another manager, then retry the stop',
      });
    }
    await sleep(LEAVE_POLL_MS);
  }
  onEvent({ type: 'log', level: 'info', message: `${info.Name} demoted itself to worker before leaving`, source: 'swarm' });
  await markLeft(options, info.Swarm.NodeID, info.Name, onEvent);
  await swarmLeave(docker, false);
  return true;
}

/**
 * The last manager leaves with force (the swarm ends) — after the managers that stepped down
 * during its leave are workers (they mark themselves left), and after waiting up to
 * `waitForOthersMs` for the other nodes to go first.
 */
async function leaveAsLastManager(
  options: LeaveOptions,
  info: DockerInfo,
  result: LeaveResult,
  steppingDown: ReadonlySet<string>,
): Promise<void> {
  const { docker } = options;
  const keys = swarmKeys(options.keyPrefix);
  let nodes = await listSwarmNodes(docker);
  // A worker that marked itself left is as good as gone: Swarm only reports it `down` after
  // its heartbeat expires (seconds), and a worker's leave needs no manager.
  const leftIds = async () =>
    options.store
      ? new Set(
          [...(await options.store.list(keys.leftPrefix).catch(() => new Map<string, unknown>())).keys()].map((k) =>
            k.slice(keys.leftPrefix.length),
          ),
        )
      : new Set<string>();
  let left = await leftIds();
  const othersUp = (list: SwarmNodeObject[]) =>
    list.filter((n) => n.ID !== info.Swarm.NodeID && n.Status.State !== 'down' && !(n.Spec.Role === 'worker' && left.has(n.ID)));
  const now = Date.now();
  const steppedDownBy = now + (steppingDown.size > 0 ? STEPPED_DOWN_WAIT_MS : 0);
  const othersBy = now + (options.waitForOthersMs ?? 0);
  const waiting = (list: SwarmNodeObject[]) =>
    othersUp(list).some((n) => (steppingDown.has(n.ID) ? Date.now() < steppedDownBy : Date.now() < othersBy));
  while (waiting(nodes)) {
    await sleep(LEAVE_POLL_MS);
    nodes = await listSwarmNodes(docker);
    left = await leftIds();
  }
  const remaining = othersUp(nodes).filter((n) => !steppingDown.has(n.ID));
  if (remaining.length > 0 && !options.force) {
    throw swarmError(
      'SWARM_LAST_MANAGER',
      `${info.Name} is the last manager and ${remaining.map((n) => n.Description.Hostname).join(', ')} still ${remaining.length === 1 ? 'is' : 'are'} in the swarm`,
      {
        hint: 'stop the other nodes first, or pass force (their swarm membership ends with this one)',
      },
    );
  }
  await swarmLeave(docker, true);
  result.forced = true;
  result.lastManager = true;
}

/** The first failure of each store, shared by every {@link leave} call given that store (a graceful try, then a forced retry). */
const storeFailures = new WeakMap<ClusterStore, { error: unknown }>();

/**
 * The cluster store as a leaving node uses it: bookkeeping only (left marker, slot release, the
 * demotion lock), so it must never keep a node in the swarm. After its first failure — typically
 * the leader and its Consul are already gone on a shutdown — every later call fails at once
 * instead of waiting out another timeout, also in a retry of the leave with the same store;
 * callers treat failures as "skip the bookkeeping".
 */
function bestEffort(store: ClusterStore): ClusterStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const failed = storeFailures.get(store);
        if (failed) throw failed.error;
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (error) {
          storeFailures.set(store, { error });
          throw error;
        }
      };
    },
  });
}

async function demoteSelf(docker: DockerClient, self: SwarmNodeObject): Promise<void> {
  let node = self;
  for (let attempt = 1; ; attempt++) {
    try {
      await updateSwarmNode(docker, node, { ...node.Spec, Role: 'worker' });
      return;
    } catch (error) {
      if (attempt >= 4 || !isTransientSwarmError(error)) throw error;
      await sleep(LEAVE_POLL_MS * attempt);
      try {
        node = normaliseNode((await docker.getNode(self.ID).inspect()) as Partial<SwarmNodeObject>);
      } catch (inspectError) {
        throw toSwarmError(inspectError, `inspect swarm node ${self.ID}`, SWARM_CALLS.inspectNode);
      }
    }
  }
}

async function swarmLeave(docker: DockerClient, force: boolean): Promise<void> {
  try {
    await docker.swarmLeave({ force });
  } catch (error) {
    const mapped = toSwarmError(error, 'leave the swarm', SWARM_CALLS.leave);
    if (mapped.code !== 'SWARM_NOT_MEMBER') throw mapped;
  }
}
