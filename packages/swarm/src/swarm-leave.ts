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
import { canStepDown, emptySlots, type ManagerSlots, releaseManagerSlot } from './manager-count.js';
import { readJson, swarmKeys, writeJson } from './store-keys.js';
import { SLOTS_LOCK_TIMEOUT_MS } from './swarm-reconcile.js';

/** Poll period while waiting for a demotion to take effect or for other nodes to leave. */
export const LEAVE_POLL_MS = 100;
/** How long {@link leave} waits for a self-demotion to show in `docker info`. */
export const DEMOTE_TIMEOUT_MS = 15_000;

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
  /** As the last manager, wait this long for the other nodes to leave first (simultaneous `stop`). Default 0. */
  waitForOthersMs?: number;
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
  /** Swarm's `force` flag was used (last manager, or `force` with quorum at risk). */
  forced: boolean;
  /** This was the last manager: the swarm is gone. */
  lastManager: boolean;
  durationMs: number;
}

/**
 * Takes this node out of the swarm (the `stop` counterpart of {@link initManager}/{@link join}).
 *
 * - worker: `POST /swarm/leave`;
 * - manager among others: demotes itself first when the remaining managers keep a reachable
 *   majority ({@link canStepDown}), waits until it is a worker, then leaves — so the quorum is
 *   never lost by a stop; refused without `force` when it would be (`SWARM_QUORUM_AT_RISK`);
 * - last manager: leaves with force (the swarm ends), after waiting up to `waitForOthersMs` for
 *   other nodes to go first; with other nodes still up and no `force` it fails with
 *   `SWARM_LAST_MANAGER` instead of stranding them.
 *
 * Idempotent: a node outside any swarm returns `left: false`.
 *
 * @example
 * ```ts
 * await leave({ docker, store });                                  // followers
 * await leave({ docker, store, waitForOthersMs: 15_000, force: true }); // leader, last
 * ```
 */
export async function leave(leaveOptions: LeaveOptions): Promise<LeaveResult> {
  const started = performance.now();
  const options = { ...leaveOptions, ...(leaveOptions.store ? { store: bestEffort(leaveOptions.store) } : {}) };
  const { docker, store } = options;
  const onEvent = options.onEvent ?? ignoreEvents;
  const keys = swarmKeys(options.keyPrefix);
  const result: LeaveResult = { left: false, wasManager: false, demoted: false, forced: false, lastManager: false, durationMs: 0 };
  const finish = () => ({ ...result, durationMs: Math.round(performance.now() - started) });

  const info = await inspectEngine(docker);
  if (info.Swarm.LocalNodeState === 'inactive') return finish();
  onEvent({ type: 'step-started', step: 'swarm-leave', title: 'leave Docker Swarm' });
  const hostname = info.Name;
  const nodeId = info.Swarm.NodeID;
  if (store && nodeId) {
    await store.put(keys.left(nodeId), hostname).catch((error: unknown) => {
      onEvent({
        type: 'log',
        level: 'warn',
        message: `the cluster store is unreachable (${describeError(error)}); leaving without updating it`,
        source: 'swarm',
      });
    });
  }

  if (info.Swarm.LocalNodeState === 'active' && info.Swarm.ControlAvailable) {
    result.wasManager = true;
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
      if (result.lastManager) {
        // The swarm is gone: clear its tokens and records so the next start begins fresh.
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
  const done = finish();
  onEvent({
    type: 'step-finished',
    step: 'swarm-leave',
    title: 'leave Docker Swarm',
    durationMs: done.durationMs,
    detail: result.lastManager ? 'last manager left; swarm removed' : `left as ${result.wasManager ? 'manager' : 'worker'}`,
  });
  return done;
}

async function leaveAsManager(options: LeaveOptions, info: DockerInfo, result: LeaveResult, onEvent: EventSink): Promise<void> {
  const { docker } = options;
  const nodes = await listSwarmNodes(docker);
  const self = nodes.find((n) => n.ID === info.Swarm.NodeID);
  const managers = nodes.filter((n) => n.Spec.Role === 'manager');
  if (managers.length <= 1) {
    await leaveAsLastManager(options, info, result);
    return;
  }
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
    return;
  }
  await demoteSelf(docker, self);
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
  await swarmLeave(docker, false);
}

/**
 * The last manager leaves with force (the swarm ends), after waiting up to `waitForOthersMs`
 * for the other nodes to go first.
 */
async function leaveAsLastManager(options: LeaveOptions, info: DockerInfo, result: LeaveResult): Promise<void> {
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
  const deadline = Date.now() + (options.waitForOthersMs ?? 0);
  while (othersUp(nodes).length > 0 && Date.now() < deadline) {
    await sleep(LEAVE_POLL_MS);
    nodes = await listSwarmNodes(docker);
    left = await leftIds();
  }
  const remaining = othersUp(nodes);
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

/**
 * The cluster store as a leaving node uses it: bookkeeping only (left marker, slot release, the
 * demotion lock), so it must never keep a node in the swarm. After its first failure — typically
 * the leader and its Consul are already gone on a shutdown — every later call fails at once
 * instead of waiting out another timeout; callers treat failures as "skip the bookkeeping".
 */
function bestEffort(store: ClusterStore): ClusterStore {
  let failure: unknown;
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (failure !== undefined) throw failure;
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (error) {
          failure = error;
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
