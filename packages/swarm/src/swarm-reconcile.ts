import { type ClusterStore, describeError, type EventSink, ignoreEvents } from '@cluster-lab/core';
import {
  type DockerClient,
  inspectEngine,
  listSwarmNodes,
  normaliseNode,
  removeSwarmNode,
  type SwarmNodeObject,
  updateSwarmNode,
} from './docker-api.js';
import { isTransientSwarmError, SWARM_CALLS, toSwarmError } from './errors.js';
import { desiredLabels, mergeLabels } from './labels.js';
import {
  DEFAULT_MANAGERS,
  emptySlots,
  type ManagerSlots,
  type PlannerNode,
  planManagerCount,
  SLOT_RESERVATION_TTL_MS,
} from './manager-count.js';
import {
  type AppliedRecord,
  type ClusterRecord,
  type ManagerAddress,
  type NodeRecord,
  readJson,
  swarmKeys,
  writeJson,
} from './store-keys.js';

/** How long reconcile waits for the reconcile lock before leaving the round to the manager holding it. */
export const RECONCILE_LOCK_TIMEOUT_MS = 5_000;
/** How long reconcile waits for the manager-slots lock (a joiner holds it during one manager join). */
export const SLOTS_LOCK_TIMEOUT_MS = 30_000;
/**
 * Fallback period of {@link startReconciler}: requests from joiners wake it at once through a
 * blocking store wait; the period only catches changes nobody announced (a node going Down).
 */
export const RECONCILE_INTERVAL_MS = 10_000;
/**
 * Longest single blocking store wait. Wake-ups come from the store's change notification; this
 * bound only limits the damage of a store that misses one (a notification racing the re-check):
 * the waiter re-reads the key at least this often. One cheap read per second per node.
 */
export const STORE_WAIT_SLICE_MS = 1_000;
/** Attempts for a node update that races another writer (Swarm's optimistic `version`). */
const UPDATE_ATTEMPTS = 4;

/** Options of {@link reconcile}. */
export interface ReconcileOptions {
  /** The local Docker API of a manager node. On a worker the call is a no-op. */
  docker: DockerClient;
  store: ClusterStore;
  /** Managers to keep; default: the count the leader recorded in the store, else 3. */
  managers?: number;
  /** Store key prefix; default `swarm` (`DEFAULT_KEY_PREFIX`). */
  keyPrefix?: string;
  onEvent?: EventSink;
  /** Clock, for tests. */
  now?: () => number;
}

/** What one {@link reconcile} round did. */
export interface ReconcileResult {
  /** Why nothing was done (not a manager, another manager is reconciling). */
  skipped?: string;
  /** Hostnames whose labels were written. */
  labelled: string[];
  /** Stale node entries removed. */
  removed: Array<{ id: string; hostname: string }>;
  /** Hostnames promoted to / demoted from manager. */
  promoted: string[];
  demoted: string[];
  /** Manager join addresses now published in the store. */
  managers: ManagerAddress[];
}

/**
 * One manager-side reconciliation round. Only managers can change swarm nodes, and followers
 * cannot reach a manager's Docker API (it is never on TCP), so followers *describe* what they
 * want in the cluster store and a manager applies it here:
 *
 * 1. **Stale entries**: a `down` node is removed when its ID was marked `left/<id>` by
 *    {@link leave}, or when another node with the same hostname is up (or is the ID recorded in
 *    `nodes/<hostname>`) — the duplicate Swarm leaves behind when a node leaves and re-joins.
 *    A stale manager is demoted first (Swarm refuses to remove a Raft member).
 * 2. **Labels**: every node whose `nodes/<hostname>` record names its current ID gets
 *    `cluster-lab.role`, `cluster-lab.arch` (from the node's reported platform) and the user
 *    labels; an `applied/<hostname>` acknowledgement lets the follower's {@link join} return.
 * 3. **Manager count**: under the slots lock, Ready workers are promoted while the swarm has
 *    fewer than `managers` (rounded down to odd), counting slots reserved by joins in flight;
 *    excess healthy managers are demoted. The `slots` record is rewritten from the real swarm.
 * 4. **Join addresses**: the `managers` record is refreshed (Raft leader first).
 *
 * Managers serialise rounds with the `locks/reconcile` store lock; a manager that cannot get it
 * within {@link RECONCILE_LOCK_TIMEOUT_MS} skips (the holder is doing the same work).
 *
 * @example
 * ```ts
 * const result = await reconcile({ docker, store });
 * if (result.removed.length) console.log('removed stale nodes', result.removed);
 * ```
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileResult> {
  const { docker, store } = options;
  const onEvent = options.onEvent ?? ignoreEvents;
  const now = options.now ?? Date.now;
  const keys = swarmKeys(options.keyPrefix);
  const result: ReconcileResult = { labelled: [], removed: [], promoted: [], demoted: [], managers: [] };

  const info = await inspectEngine(docker);
  if (info.Swarm.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
    return { ...result, skipped: 'this node is not a swarm manager' };
  }
  let lock: Awaited<ReturnType<ClusterStore['lock']>>;
  try {
    lock = await store.lock(keys.reconcileLock, { timeoutMs: RECONCILE_LOCK_TIMEOUT_MS });
  } catch {
    return { ...result, skipped: 'another manager is reconciling' };
  }
  try {
    // Records before nodes: a record names a node that had joined before it was written, so a
    // recorded ID missing from the (later) list really was removed — not merely joined since.
    const records = await readNodeRecords(store, keys.nodesPrefix);
    let nodes = await listSwarmNodes(docker);
    const leftIds = new Set([...(await store.list(keys.leftPrefix)).keys()].map((k) => k.slice(keys.leftPrefix.length)));

    // 1. stale entries
    for (const node of nodes) {
      const hostname = node.Description.Hostname;
      // No hostname yet (still registering): nothing to compare it with.
      if (node.Status.State !== 'down' || hostname === '') continue;
      const recorded = records.get(hostname)?.nodeId;
      const duplicate = nodes.some(
        (other) =>
          other.ID !== node.ID && other.Description.Hostname === hostname && (other.Status.State !== 'down' || other.ID === recorded),
      );
      if (!leftIds.has(node.ID) && !duplicate) continue;
      try {
        if (node.Spec.Role === 'manager') {
          // A node that demoted itself and left may have been promoted again while it was going (its
          // desired role says manager, but it is no Raft member): Swarm cannot demote it, and
          // removes it with force as it is.
          await withFreshNode(docker, node, (n) => updateSwarmNode(docker, n, { ...n.Spec, Role: 'worker' })).catch((error: unknown) => {
            if (!/can't find manager in raft memberlist/i.test(describeError(error))) throw error;
          });
        }
        await removeSwarmNode(docker, node, true);
        result.removed.push({ id: node.ID, hostname });
        onEvent({ type: 'log', level: 'info', message: `removed stale swarm node ${hostname} (${node.ID})`, source: 'swarm' });
      } catch (error) {
        onEvent({
          type: 'log',
          level: 'warn',
          message: `could not remove stale swarm node ${hostname}: ${describeError(error)}`,
          source: 'swarm',
        });
      }
    }
    const removedIds = new Set(result.removed.map((r) => r.id));
    for (const id of leftIds) {
      if (removedIds.has(id) || !nodes.some((n) => n.ID === id)) await store.delete(keys.left(id));
    }
    nodes = nodes.filter((n) => !removedIds.has(n.ID));

    // 1b. nodes removed by hand (`docker node rm --force`) still believe they are members and
    // would never notice; tell them through the store so their join() starts afresh.
    for (const record of records.values()) {
      if (record.nodeId && !nodes.some((n) => n.ID === record.nodeId) && !(await store.get(keys.removed(record.nodeId)))) {
        await store.put(keys.removed(record.nodeId), record.hostname);
        onEvent({
          type: 'log',
          level: 'info',
          message: `swarm node ${record.hostname} (${record.nodeId}) is gone from the swarm; it will re-join`,
          source: 'swarm',
        });
      }
    }

    // 2. labels
    for (const node of nodes) {
      const hostname = node.Description.Hostname;
      const record = records.get(hostname);
      if (!record || record.nodeId !== node.ID) continue;
      const desired = desiredLabels({ role: record.role, arch: node.Description.Platform?.Architecture, user: record.labels });
      if (mergeLabels(node.Spec.Labels, desired)) {
        try {
          await withFreshNode(docker, node, async (n) => {
            const merged = mergeLabels(n.Spec.Labels, desired);
            if (merged) await updateSwarmNode(docker, n, { ...n.Spec, Labels: merged });
          });
          result.labelled.push(hostname);
        } catch (error) {
          onEvent({
            type: 'log',
            level: 'warn',
            message: `could not label swarm node ${hostname}: ${describeError(error)}`,
            source: 'swarm',
          });
          continue;
        }
      }
      const applied = await readJson<AppliedRecord>(store, keys.applied(hostname));
      if (applied?.value.nodeId !== node.ID)
        await writeJson(store, keys.applied(hostname), { nodeId: node.ID, at: new Date(now()).toISOString() });
    }

    // 3. manager count + slots
    const cluster = await readJson<ClusterRecord>(store, keys.cluster);
    const desired = options.managers ?? cluster?.value.managers ?? DEFAULT_MANAGERS;
    const slotsLock = await store.lock(keys.slotsLock, { timeoutMs: SLOTS_LOCK_TIMEOUT_MS });
    try {
      // Re-list under the lock: a manager-joiner may have completed while we waited for it, and
      // a stale list would count it as a mere reservation (or miss it).
      nodes = (await listSwarmNodes(docker)).filter((n) => !removedIds.has(n.ID));
      const slots = (await readJson<ManagerSlots>(store, keys.slots))?.value ?? emptySlots();
      const managerHosts = new Set(nodes.filter((n) => n.Spec.Role === 'manager').map((n) => n.Description.Hostname));
      const reservations = Object.entries(slots.holders).filter(
        ([host, h]) => !managerHosts.has(host) && now() - h.since < SLOT_RESERVATION_TTL_MS,
      );
      const plannerNodes: PlannerNode[] = nodes.map((n) => {
        const record = records.get(n.Description.Hostname);
        const ready = n.Status.State === 'ready';
        return {
          id: n.ID,
          hostname: n.Description.Hostname,
          role: n.Spec.Role,
          healthy: ready && (n.Spec.Role === 'worker' || n.ManagerStatus?.Reachability === 'reachable'),
          promotable:
            ready && n.Spec.Role === 'worker' && n.Spec.Availability === 'active' && record?.nodeId === n.ID && !leftIds.has(n.ID),
          protected: n.ID === info.Swarm.NodeID || Boolean(n.ManagerStatus?.Leader),
        };
      });
      const plan = planManagerCount({ desired, reserved: reservations.length, nodes: plannerNodes });
      for (const [ids, role, list] of [
        [plan.promote, 'manager', result.promoted],
        [plan.demote, 'worker', result.demoted],
      ] as const) {
        for (const id of ids) {
          const node = nodes.find((n) => n.ID === id);
          if (!node) continue;
          try {
            await withFreshNode(docker, node, (n) => updateSwarmNode(docker, n, { ...n.Spec, Role: role }));
            list.push(node.Description.Hostname);
            onEvent({
              type: 'log',
              level: 'info',
              message: `${role === 'manager' ? 'promoted' : 'demoted'} ${node.Description.Hostname} to keep ${desired} managers`,
              source: 'swarm',
            });
          } catch (error) {
            onEvent({
              type: 'log',
              level: 'warn',
              message: `could not change role of ${node.Description.Hostname}: ${describeError(error)}`,
              source: 'swarm',
            });
          }
        }
      }
      const holders: ManagerSlots['holders'] = Object.fromEntries(reservations);
      for (const n of nodes) {
        const role = result.promoted.includes(n.Description.Hostname)
          ? 'manager'
          : result.demoted.includes(n.Description.Hostname)
            ? 'worker'
            : n.Spec.Role;
        if (role === 'manager')
          holders[n.Description.Hostname] = { nodeId: n.ID, since: slots.holders[n.Description.Hostname]?.since ?? now() };
      }
      if (JSON.stringify(holders) !== JSON.stringify(slots.holders)) await writeJson(store, keys.slots, { holders });
    } finally {
      await slotsLock.release();
    }

    // 4. join addresses (re-read: promotions and demotions changed the manager set)
    if (result.promoted.length > 0 || result.demoted.length > 0)
      nodes = (await listSwarmNodes(docker)).filter((n) => !removedIds.has(n.ID));
    result.managers = managerAddresses(nodes);
    const published = await store.get(keys.managers);
    if (result.managers.length > 0 && published?.value !== JSON.stringify(result.managers)) {
      await writeJson(store, keys.managers, result.managers);
    }
    return result;
  } finally {
    await lock.release();
  }
}

/** Manager join addresses, Raft leader first, unreachable managers left out. */
export function managerAddresses(nodes: readonly SwarmNodeObject[]): ManagerAddress[] {
  return nodes
    .filter((n) => n.Spec.Role === 'manager' && n.ManagerStatus?.Addr && n.ManagerStatus.Reachability !== 'unreachable')
    .sort(
      (a, b) =>
        Number(Boolean(b.ManagerStatus?.Leader)) - Number(Boolean(a.ManagerStatus?.Leader)) ||
        a.Description.Hostname.localeCompare(b.Description.Hostname),
    )
    .map((n) => ({ nodeId: n.ID, hostname: n.Description.Hostname, addr: n.ManagerStatus?.Addr ?? '' }));
}

async function readNodeRecords(store: ClusterStore, prefix: string): Promise<Map<string, NodeRecord>> {
  const records = new Map<string, NodeRecord>();
  for (const [key, stored] of await store.list(prefix)) {
    try {
      const record = JSON.parse(stored.value) as NodeRecord;
      records.set(key.slice(prefix.length), record);
    } catch {
      // A malformed record is ignored rather than blocking every other node's reconciliation.
    }
  }
  return records;
}

/** Runs `change` on the node, re-reading it and retrying when Swarm reports a version race. */
async function withFreshNode(docker: DockerClient, node: SwarmNodeObject, change: (node: SwarmNodeObject) => Promise<void>): Promise<void> {
  let current = node;
  for (let attempt = 1; ; attempt++) {
    try {
      await change(current);
      return;
    } catch (error) {
      if (attempt >= UPDATE_ATTEMPTS || !isTransientSwarmError(error)) throw error;
      try {
        current = normaliseNode((await docker.getNode(node.ID).inspect()) as Partial<SwarmNodeObject>);
      } catch (inspectError) {
        throw toSwarmError(inspectError, `inspect swarm node ${node.ID}`, SWARM_CALLS.inspectNode);
      }
    }
  }
}

/** A running {@link startReconciler} loop. */
export interface Reconciler {
  /** Rounds completed so far. */
  readonly rounds: number;
  /** Stops the loop and waits for a round in progress. Safe to call twice. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link startReconciler}. */
export interface ReconcilerOptions extends ReconcileOptions {
  /** Fallback period; default {@link RECONCILE_INTERVAL_MS}. */
  intervalMs?: number;
  /** Called after each round (for tests and status output). */
  onRound?: (result: ReconcileResult) => void;
}

/**
 * Runs {@link reconcile} in the background: at once whenever a joiner puts the `reconcile`
 * request key (a blocking store wait, no polling), and every `intervalMs` otherwise. Run it on
 * every node of a long-running `cluster-lab start`: on workers a round is a cheap no-op, and a
 * worker promoted later starts reconciling without a restart. Errors become warn events; the
 * loop keeps going.
 *
 * @example
 * ```ts
 * await using reconciler = startReconciler({ docker, store, onEvent });
 * ```
 */
export function startReconciler(options: ReconcilerOptions): Reconciler {
  const keys = swarmKeys(options.keyPrefix);
  const onEvent = options.onEvent ?? ignoreEvents;
  const intervalMs = options.intervalMs ?? RECONCILE_INTERVAL_MS;
  const abort = new AbortController();
  let rounds = 0;
  const aborted = new Promise<undefined>((resolve) => abort.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  const sleep = (ms: number) => Promise.race([new Promise((r) => setTimeout(r, ms)), aborted]);
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        // Workers must not consume a joiner's request: only a manager can act on it.
        const info = await inspectEngine(options.docker);
        if (info.Swarm.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
          await sleep(intervalMs);
          continue;
        }
        const roundDue = Date.now() + intervalMs;
        let request: Awaited<ReturnType<ClusterStore['waitFor']>>;
        do {
          const slice = Math.max(0, Math.min(STORE_WAIT_SLICE_MS, roundDue - Date.now()));
          request = await Promise.race([options.store.waitFor(keys.reconcileRequest, { timeoutMs: slice, signal: abort.signal }), aborted]);
        } while (!request && !abort.signal.aborted && Date.now() < roundDue);
        if (abort.signal.aborted) break;
        // Delete before reconciling: a request written after this point triggers another round,
        // one written before it is covered by the round below (records are written first).
        if (request) await options.store.delete(keys.reconcileRequest);
        const result = await reconcile(options);
        // Hand an unserved request back to the manager that holds the lock.
        if (request && result.skipped) await options.store.put(keys.reconcileRequest, request.value);
        rounds++;
        options.onRound?.(result);
        if (request && result.skipped) await sleep(RECONCILE_LOCK_TIMEOUT_MS);
      } catch (error) {
        onEvent({ type: 'log', level: 'warn', message: `swarm reconcile failed: ${describeError(error)}`, source: 'swarm' });
        await sleep(Math.min(intervalMs, 1_000));
      }
    }
  })();
  const stop = async () => {
    abort.abort();
    await loop;
  };
  return {
    get rounds() {
      return rounds;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
