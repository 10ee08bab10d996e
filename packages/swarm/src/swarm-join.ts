import { setTimeout as sleep } from 'node:timers/promises';
import { type ClusterStore, describeError, type EventSink, ignoreEvents, type StoreLock } from '@cluster-lab/core';
import { type DockerClient, type DockerInfo, inspectEngine, SWARM_PORT } from './docker-api.js';
import { isTransientSwarmError, SWARM_CALLS, swarmError, toSwarmError } from './errors.js';
import { gatewayBridgeExists } from './gateway-bridge.js';
import { assertUserLabels } from './labels.js';
import { localListener } from './local-listener.js';
import {
  assertManagerCount,
  DEFAULT_MANAGERS,
  emptySlots,
  type ManagerSlots,
  releaseManagerSlot,
  type SlotDecision,
  takeManagerSlot,
} from './manager-count.js';
import {
  type AppliedRecord,
  type ClusterRecord,
  type ManagerAddress,
  type NodeRecord,
  readJson,
  type SwarmKeys,
  swarmKeys,
  writeJson,
} from './store-keys.js';
import { assertAddress } from './swarm-manager.js';
import { reconcile, STORE_WAIT_SLICE_MS } from './swarm-reconcile.js';
import { openSwarmToken, type SwarmTokenKey } from './token-sealing.js';

/** Default time {@link join} waits for the leader's tokens and for the join itself. */
export const DEFAULT_JOIN_TIMEOUT_MS = 120_000;
/** Default time {@link join} waits for a manager to acknowledge this node's labels. */
export const DEFAULT_LABEL_TIMEOUT_MS = 15_000;
/** While waiting for tokens, a progress event is emitted this often (the wait itself blocks on the store). */
export const TOKEN_WAIT_PROGRESS_MS = 5_000;
/** Poll period of `docker info` while the local node is `pending` or becoming a manager. */
export const LOCAL_STATE_POLL_MS = 100;
/**
 * How long a node that is already in a swarm may stay `pending` (reconnecting after a dockerd
 * restart takes a second or two) before {@link join} gives its old identity up and joins afresh.
 * A node that comes back from a power-off can stay `pending` for good: its identity was removed
 * while it was away, or it cannot rejoin Raft under it ("The swarm does not have a leader").
 */
export const PENDING_GRACE_MS = 20_000;
/** Pause between join attempts after a transient failure (election in progress, manager restarting). */
export const JOIN_RETRY_MS = 500;

/** Options of {@link join}. */
export interface JoinOptions {
  /** This node's local Docker API (unix socket). */
  docker: DockerClient;
  /** Where the leader published tokens and manager addresses. */
  store: ClusterStore;
  /** This node's cluster address (advertised to the swarm). */
  advertiseAddr: string;
  /** Address for overlay traffic; default `advertiseAddr`. */
  dataPathAddr?: string;
  /** Address the swarm port binds to (used if the node becomes a manager); default `advertiseAddr`. */
  listenAddr?: string;
  /** Managers the cluster keeps (odd, 1–7); default: the leader's recorded count, else 3. */
  managers?: number;
  /** User labels from the config (`swarm.labels`). */
  labels?: Record<string, string>;
  /** Total time for waiting on tokens and joining; default {@link DEFAULT_JOIN_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Time to wait for a manager to apply this node's labels; default {@link DEFAULT_LABEL_TIMEOUT_MS}. 0 = do not wait. */
  labelTimeoutMs?: number;
  /** How long a `pending` engine is waited for before its identity is given up; default {@link PENDING_GRACE_MS}. */
  pendingGraceMs?: number;
  /** When the node is in a different swarm: leave it (force) and join this one, instead of failing. */
  leaveOtherSwarm?: boolean;
  /**
   * Join as this role instead of deciding by the free manager slots: the caller decided it in the
   * `slots` record itself (the boot flow claims one slot for the Consul server and the Swarm
   * manager role together). A manager must hold its slot already, else the join fails.
   */
  role?: 'manager' | 'worker';
  /** The node's cluster role, for its `cluster-lab.role` label; default `follower`. */
  nodeRole?: 'leader' | 'follower';
  /** Store key prefix; default `swarm` (`DEFAULT_KEY_PREFIX`). */
  keyPrefix?: string;
  /**
   * Opens the sealed join tokens (`ClusterKeys.swarmTokenKey`); must be the key the leader sealed
   * them with. Undefined: the tokens are expected in clear (`security: open`).
   */
  tokenKey?: SwarmTokenKey;
  onEvent?: EventSink;
  signal?: AbortSignal;
}

/** What {@link join} did. */
export interface JoinResult {
  role: 'manager' | 'worker';
  nodeId: string;
  hostname: string;
  clusterId: string;
  /** True when the node already was a member of this cluster's swarm (nothing joined). */
  alreadyMember: boolean;
  /**
   * Whether Docker's `docker_gwbridge` network was there before this call. When the node joined
   * and it was not, the join made it: the undo removes it (`leave({ removeGatewayBridge })`).
   */
  gatewayBridgeExisted: boolean;
  /** Whether a manager acknowledged this node's labels within `labelTimeoutMs`. */
  labelsApplied: boolean;
  durationMs: number;
}

/**
 * Joins this follower to the cluster's swarm. Waits (blocking on the store, with progress
 * events) for the leader's `cluster` record, then joins as **manager** if a manager slot is
 * free, else as **worker**. Slots are read, decided ({@link takeManagerSlot}) and written under
 * the store lock `locks/slots`, which a manager-joiner keeps until its join is done, so any
 * number of simultaneous joiners never exceed `managers`; workers release it at once and join
 * in parallel, which keeps formation time flat in N.
 *
 * Afterwards the node records `nodes/<hostname>` (its new node ID and desired labels) and
 * requests a reconcile. Only managers can label nodes or remove stale entries, so: a node that
 * became a manager runs {@link reconcile} itself; a worker waits for a manager's
 * `applied/<hostname>` acknowledgement (the leader runs {@link startReconciler}). A node that
 * left and re-joins gets a new node ID; reconcile removes the old `down` entry with the same
 * hostname, so there are no duplicates.
 *
 * Idempotent: a node already in this swarm (checked by cluster ID on managers, by known manager
 * IDs on workers) only refreshes its record; a node still `pending` after a dockerd restart is
 * waited for ({@link PENDING_GRACE_MS}), then — like a node in `error` — leaves its old identity
 * with force and joins afresh (reconcile removes the stale entry). A node in another swarm fails
 * with `SWARM_OTHER_CLUSTER` unless `leaveOtherSwarm`.
 *
 * @example
 * ```ts
 * const r = await join({ docker, store, advertiseAddr: lease.address, onEvent });
 * console.log(`joined as ${r.role}`);
 * ```
 */
export async function join(options: JoinOptions): Promise<JoinResult> {
  const started = performance.now();
  const { docker, store } = options;
  const onEvent = options.onEvent ?? ignoreEvents;
  const timeoutMs = options.timeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  if (options.managers !== undefined) assertManagerCount(options.managers);
  assertAddress(options.advertiseAddr, 'advertiseAddr');
  const dataPathAddr = options.dataPathAddr ?? options.advertiseAddr;
  const listenAddr = options.listenAddr ?? options.advertiseAddr;
  assertAddress(dataPathAddr, 'dataPathAddr');
  assertAddress(listenAddr, 'listenAddr');
  const labels = options.labels ?? {};
  assertUserLabels(labels);
  const keys = swarmKeys(options.keyPrefix);
  const title = 'join Docker Swarm';
  onEvent({ type: 'step-started', step: 'swarm-join', title });

  let info = await inspectEngine(docker);
  const hostname = info.Name;
  const cluster = await waitForCluster(store, keys, deadline, timeoutMs, onEvent, options.signal);
  const desired = options.managers ?? cluster.managers ?? DEFAULT_MANAGERS;

  if (info.Swarm.LocalNodeState === 'pending') {
    let grace = options.pendingGraceMs ?? PENDING_GRACE_MS;
    // A manager identity restored before the node address existed never bound its listener:
    // nobody can reach its Raft, so waiting cannot help (probed on this host's own address only).
    if (grace > 0 && info.Swarm.ControlAvailable && (await localListener(listenAddr, SWARM_PORT)) === false) {
      grace = 0;
      onEvent({
        type: 'log',
        level: 'info',
        message: `${hostname}'s swarm manager does not listen on ${listenAddr}:${SWARM_PORT} (dockerd restored it before that address existed): no point waiting for it to reconnect`,
        source: 'swarm',
      });
    }
    info = await waitWhilePending(docker, Math.min(deadline, Date.now() + grace), false);
  }
  let gatewayBridgeExisted = info.Swarm.LocalNodeState === 'inactive' ? await gatewayBridgeExists(docker) : true;
  let alreadyMember = false;
  if (info.Swarm.LocalNodeState === 'locked') {
    throw swarmError('SWARM_LOCKED', `the swarm on ${hostname} is locked (autolock)`, {
      hint: 'unlock it with `docker swarm unlock` or reset it with `docker swarm leave --force`',
    });
  }
  // A `pending` identity is given up only when it is this cluster's own (known managers, its
  // node record, or marked removed): a user's unrelated swarm that is unreachable stays untouched.
  const unsettled = info.Swarm.LocalNodeState === 'error' || info.Swarm.LocalNodeState === 'pending';
  const ours = unsettled && ((await isMemberOf(store, keys, info, cluster)) || Boolean(await store.get(keys.removed(info.Swarm.NodeID))));
  const stuck = info.Swarm.LocalNodeState === 'error' || ours;
  if (info.Swarm.LocalNodeState === 'pending' && !stuck && !options.leaveOtherSwarm) {
    throw swarmError(
      'SWARM_OTHER_CLUSTER',
      `${hostname} stays "pending" in a swarm this cluster does not know${info.Swarm.Error ? ` (${info.Swarm.Error})` : ''}`,
      { hint: 'if that swarm is gone, run `docker swarm leave --force` on this node (or set leaveOtherSwarm), then start again' },
    );
  }
  if (info.Swarm.LocalNodeState === 'active' || unsettled) {
    if (info.Swarm.LocalNodeState === 'active' && (await isMemberOf(store, keys, info, cluster))) {
      alreadyMember = true;
    } else if (options.leaveOtherSwarm || stuck) {
      onEvent({
        type: 'log',
        level: 'warn',
        message: `${hostname} leaves its previous swarm identity (${info.Swarm.LocalNodeState}${info.Swarm.Error ? `: ${info.Swarm.Error}` : ''}) to join ${cluster.clusterId} afresh`,
        source: 'swarm',
      });
      try {
        await docker.swarmLeave({ force: true });
      } catch (error) {
        const mapped = toSwarmError(error, 'leave the previous swarm', SWARM_CALLS.leave);
        if (mapped.code !== 'SWARM_NOT_MEMBER') throw mapped;
      }
      // An identity of this cluster's own was made by an earlier start, and the bridge with it:
      // the bridge goes at stop like one this join makes. Another swarm's bridge stays.
      if (ours) gatewayBridgeExisted = false;
    } else {
      throw swarmError('SWARM_OTHER_CLUSTER', `${hostname} is a member of a swarm other than this cluster's swarm ${cluster.clusterId}`, {
        hint: 'run `docker swarm leave --force` on this node (or set leaveOtherSwarm), then start again',
      });
    }
  }

  let role: 'manager' | 'worker';
  let labelsApplied = false;
  for (let attempt = 0; ; attempt++) {
    if (alreadyMember) {
      role = info.Swarm.ControlAvailable ? 'manager' : 'worker';
      onEvent({ type: 'log', level: 'info', message: `${hostname} is already a ${role} of swarm ${cluster.clusterId}`, source: 'swarm' });
    } else {
      role = await joinWithSlot({ ...options, keys, hostname, desired, deadline, listenAddr, dataPathAddr, onEvent });
      info = await inspectEngine(docker);
    }
    const outcome = await recordAndAwaitLabels({ ...options, keys, hostname, desired, role, nodeId: info.Swarm.NodeID, onEvent });
    if (outcome !== 'removed' || attempt > 0) {
      labelsApplied = outcome === 'applied';
      break;
    }
    // A manager removed this node (`docker node rm --force`); the node itself still believes it is
    // a member and would never find out. Drop the dead identity and join afresh.
    onEvent({
      type: 'log',
      level: 'warn',
      message: `${hostname} (${info.Swarm.NodeID}) was removed from the swarm; joining again`,
      source: 'swarm',
    });
    await store.delete(keys.removed(info.Swarm.NodeID));
    try {
      await docker.swarmLeave({ force: true });
    } catch (error) {
      const mapped = toSwarmError(error, 'leave the swarm after being removed', SWARM_CALLS.leave);
      if (mapped.code !== 'SWARM_NOT_MEMBER') throw mapped;
    }
    alreadyMember = false;
  }
  if (!labelsApplied) {
    onEvent({
      type: 'log',
      level: 'warn',
      message: `no manager applied the labels of ${hostname} yet; they are applied when the leader's reconciler runs`,
      source: 'swarm',
    });
  }
  const durationMs = Math.round(performance.now() - started);
  onEvent({ type: 'step-finished', step: 'swarm-join', title, durationMs, detail: `${alreadyMember ? 'already ' : 'joined as '}${role}` });
  return {
    role,
    nodeId: info.Swarm.NodeID,
    hostname,
    clusterId: cluster.clusterId,
    alreadyMember,
    gatewayBridgeExisted,
    labelsApplied,
    durationMs,
  };
}

async function waitForCluster(
  store: ClusterStore,
  keys: SwarmKeys,
  deadline: number,
  timeoutMs: number,
  onEvent: EventSink,
  signal: AbortSignal | undefined,
): Promise<ClusterRecord> {
  const waitStarted = Date.now();
  let lastProgress = waitStarted;
  for (;;) {
    const remaining = deadline - Date.now();
    const stored = await store.waitFor(keys.cluster, {
      timeoutMs: Math.max(0, Math.min(remaining, STORE_WAIT_SLICE_MS)),
      ...(signal ? { signal } : {}),
    });
    if (stored) {
      try {
        return JSON.parse(stored.value) as ClusterRecord;
      } catch {
        throw swarmError('SWARM_RECORD_INVALID', `the cluster record at ${keys.cluster} is not valid JSON`, {
          hint: "run `cluster-lab health` on a manager (in the cluster's one Consul and swarm); `initManager` on a manager of the swarm republishes the tokens and the record (docs/troubleshooting.md)",
        });
      }
    }
    if (signal?.aborted)
      throw swarmError('SWARM_JOIN_CANCELLED', 'waiting for swarm join tokens was cancelled', {
        hint: 'start was interrupted; run it again',
      });
    if (Date.now() >= deadline) {
      throw swarmError('SWARM_TOKENS_TIMEOUT', `no swarm join tokens appeared in the cluster store within ${timeoutMs} ms`, {
        hint: 'check that the leader is up and its swarm step passed (`cluster-lab status` on the leader)',
      });
    }
    if (Date.now() - lastProgress < TOKEN_WAIT_PROGRESS_MS) continue;
    lastProgress = Date.now();
    onEvent({
      type: 'log',
      level: 'info',
      message: `waiting for the leader to publish swarm join tokens (${Math.round((Date.now() - waitStarted) / 1000)} s)`,
      source: 'swarm',
    });
  }
}

/**
 * Whether this node's engine is in the swarm the cluster store records — false when it is in
 * another one (the leader restarted alone and initialised a new swarm while this node stayed in
 * the old one). Undefined when that cannot be told: no record, the engine is not in a swarm, or
 * the store or engine does not answer.
 *
 * @example
 * ```ts
 * if ((await inRecordedSwarm({ docker, store })) === false) console.log('in a stale swarm: restart this node');
 * ```
 */
export async function inRecordedSwarm(options: {
  docker: DockerClient;
  store: ClusterStore;
  keyPrefix?: string;
}): Promise<boolean | undefined> {
  const keys = swarmKeys(options.keyPrefix);
  try {
    const cluster = (await readJson<ClusterRecord>(options.store, keys.cluster))?.value;
    if (!cluster?.clusterId) return undefined;
    const info = await inspectEngine(options.docker);
    if (info.Swarm.LocalNodeState !== 'active') return undefined;
    return await isMemberOf(options.store, keys, info, cluster);
  } catch {
    return undefined;
  }
}

async function isMemberOf(store: ClusterStore, keys: SwarmKeys, info: DockerInfo, cluster: ClusterRecord): Promise<boolean> {
  if (info.Swarm.ControlAvailable && info.Swarm.Cluster?.ID) return info.Swarm.Cluster.ID === cluster.clusterId;
  const managers = (await readJson<ManagerAddress[]>(store, keys.managers))?.value ?? [];
  const known = new Set(managers.map((m) => m.nodeId));
  if ((info.Swarm.RemoteManagers ?? []).some((m) => known.has(m.NodeID))) return true;
  const record = (await readJson<NodeRecord>(store, keys.node(info.Name)))?.value;
  return record?.nodeId === info.Swarm.NodeID && record.updatedAt >= cluster.createdAt;
}

async function waitWhilePending(docker: DockerClient, deadline: number, throwAtDeadline = true): Promise<DockerInfo> {
  for (;;) {
    const info = await inspectEngine(docker);
    if (info.Swarm.LocalNodeState !== 'pending') return info;
    if (Date.now() >= deadline && !throwAtDeadline) return info;
    if (Date.now() >= deadline) {
      throw swarmError(
        'SWARM_JOIN_TIMEOUT',
        `${info.Name} stayed "pending" (cannot reach a manager)${info.Swarm.Error ? `: ${info.Swarm.Error}` : ''}`,
        {
          hint: 'check the managers are up and reachable on TCP 2377 over the cluster link',
        },
      );
    }
    await sleep(LOCAL_STATE_POLL_MS);
  }
}

async function waitForControl(docker: DockerClient, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const info = await inspectEngine(docker);
    if (info.Swarm.ControlAvailable) return;
    await sleep(LOCAL_STATE_POLL_MS);
  }
}

interface JoinWithSlotInput extends JoinOptions {
  keys: SwarmKeys;
  hostname: string;
  desired: number;
  deadline: number;
  listenAddr: string;
  dataPathAddr: string;
  onEvent: EventSink;
}

async function joinWithSlot(input: JoinWithSlotInput): Promise<'manager' | 'worker'> {
  const { store, keys, hostname } = input;
  let lock: StoreLock;
  try {
    lock = await store.lock(keys.slotsLock, {
      timeoutMs: Math.max(1, input.deadline - Date.now()),
      ...(input.signal ? { signal: input.signal } : {}),
    });
  } catch (error) {
    throw swarmError('SWARM_LOCK_TIMEOUT', `could not take the manager-slot lock ${keys.slotsLock}: ${describeError(error)}`, {
      hint: 'another node holds it; check the cluster store is healthy and retry',
      cause: error,
    });
  }
  let locked = true;
  const unlock = async () => {
    if (locked) {
      locked = false;
      await lock.release();
    }
  };
  try {
    const slots = (await readJson<ManagerSlots>(store, keys.slots))?.value ?? emptySlots();
    const decision = input.role
      ? decidedRole(slots, hostname, input.role, input.desired)
      : takeManagerSlot({ slots, hostname, desired: input.desired, now: Date.now() });
    if (decision.role === 'worker') {
      await unlock();
    } else if (decision.changed) {
      await writeJson(store, keys.slots, decision.slots);
    }
    const tokenKey = decision.role === 'manager' ? keys.managerToken : keys.workerToken;
    const token = await store.get(tokenKey);
    if (!token) {
      throw swarmError('SWARM_TOKEN_MISSING', `the ${decision.role} join token is missing from the cluster store`, {
        hint: "run `cluster-lab health` on a manager (in the cluster's one Consul and swarm); `initManager` on a manager of the swarm republishes the tokens and the record (docs/troubleshooting.md)",
      });
    }
    try {
      await joinSwarm(input, openSwarmToken(input.tokenKey, tokenKey, token.value), decision.role);
    } catch (error) {
      if (decision.role === 'manager') {
        const current = (await readJson<ManagerSlots>(store, keys.slots))?.value ?? emptySlots();
        await writeJson(store, keys.slots, releaseManagerSlot(current, hostname));
      }
      throw error;
    }
    return decision.role;
  } finally {
    await unlock();
  }
}

/**
 * The slot decision for a role decided by the caller: a manager must hold its slot. One whose
 * slot was freed while it was starting (membership upkeep removed it) takes a free one again;
 * with none free it fails rather than join as a worker beside the Consul server it already runs.
 */
function decidedRole(slots: ManagerSlots, hostname: string, role: 'manager' | 'worker', desired: number): SlotDecision {
  if (role === 'worker' || slots.holders[hostname]) return { role, slots, changed: false };
  const retaken = takeManagerSlot({ slots, hostname, desired, now: Date.now() });
  if (retaken.role === 'manager') return retaken;
  throw swarmError(
    'SWARM_NO_MANAGER_SLOT',
    `${hostname} was told to join as manager but holds no manager slot, and all ${desired} are taken`,
    {
      hint: 'its seat was given to another node while it was away (membership upkeep); run `cluster-lab stop` then `cluster-lab start` to join with the role the slot table gives it',
    },
  );
}

/** `POST /swarm/join`, trying each published manager address and retrying transient failures. */
async function joinSwarm(input: JoinWithSlotInput, token: string, role: 'manager' | 'worker'): Promise<void> {
  const { docker, store, keys } = input;
  for (let attempt = 0; ; attempt++) {
    // Never through itself: a manager back from a crash keeps its address (a DHCP reservation),
    // and its own stale entry in the list answers "connection refused" until the deadline.
    const managers = ((await readJson<ManagerAddress[]>(store, keys.managers))?.value ?? []).filter(
      (m) => m.hostname !== input.hostname && m.addr !== `${input.advertiseAddr}:${SWARM_PORT}`,
    );
    if (managers.length === 0) {
      throw swarmError('SWARM_MANAGERS_MISSING', `no manager addresses but this node's at ${keys.managers}`, {
        hint: "run `cluster-lab health` on a manager (in the cluster's one Consul and swarm); `initManager` on a manager of the swarm republishes the tokens and the record (docs/troubleshooting.md)",
      });
    }
    // Docker uses only the first RemoteAddr, so rotate through managers across attempts.
    const remote = managers[attempt % managers.length] as ManagerAddress;
    try {
      await docker.swarmJoin({
        ListenAddr: `${input.listenAddr}:${SWARM_PORT}`,
        AdvertiseAddr: `${input.advertiseAddr}:${SWARM_PORT}`,
        DataPathAddr: input.dataPathAddr,
        RemoteAddrs: [remote.addr],
        JoinToken: token,
      });
      input.onEvent({
        type: 'log',
        level: 'info',
        message: `${input.hostname} joined as ${role} via ${remote.hostname} (${remote.addr})`,
        source: 'swarm',
      });
      return;
    } catch (error) {
      const mapped = toSwarmError(error, `join the swarm as ${role} via ${remote.addr}`, SWARM_CALLS.join);
      if (mapped.code === 'SWARM_ALREADY_MEMBER' || mapped.code === 'SWARM_JOIN_TIMEOUT') {
        // An earlier attempt may have completed in the background.
        const info = await inspectEngine(docker);
        if (info.Swarm.LocalNodeState === 'active') return;
        if (info.Swarm.LocalNodeState === 'pending') {
          await waitWhilePending(docker, input.deadline);
          return;
        }
      }
      if (!isTransientSwarmError(mapped) || Date.now() + JOIN_RETRY_MS >= input.deadline) throw mapped;
      input.onEvent({
        type: 'log',
        level: 'info',
        message: `swarm join attempt ${attempt + 1} failed, retrying: ${mapped.message}`,
        source: 'swarm',
      });
      await sleep(JOIN_RETRY_MS);
    }
  }
}

interface RecordInput extends JoinOptions {
  keys: SwarmKeys;
  hostname: string;
  desired: number;
  role: 'manager' | 'worker';
  nodeId: string;
  onEvent: EventSink;
}

/**
 * Records this node's identity and desired labels, asks the managers to reconcile, and waits for
 * the outcome: `applied` (labels set), `removed` (a manager found this node ID gone from the
 * swarm) or `timeout`.
 */
async function recordAndAwaitLabels(input: RecordInput): Promise<'applied' | 'removed' | 'timeout'> {
  const { docker, store, keys, hostname, nodeId } = input;
  await store.delete(keys.applied(hostname));
  await writeJson(store, keys.node(hostname), {
    hostname,
    nodeId,
    role: input.nodeRole ?? 'follower',
    labels: input.labels ?? {},
    addr: input.advertiseAddr,
    updatedAt: new Date().toISOString(),
  } satisfies NodeRecord);
  await store.delete(keys.left(nodeId));
  if (input.role === 'manager') {
    await waitForControl(docker, Date.now() + 10_000);
    try {
      await reconcile({ docker, store, managers: input.desired, keyPrefix: input.keyPrefix, onEvent: input.onEvent });
    } catch (error) {
      input.onEvent({ type: 'log', level: 'warn', message: `reconcile after joining failed: ${describeError(error)}`, source: 'swarm' });
    }
  }
  await store.put(keys.reconcileRequest, `${hostname} ${nodeId}`);
  const deadline = Date.now() + (input.labelTimeoutMs ?? DEFAULT_LABEL_TIMEOUT_MS);
  const signal = input.signal;
  for (;;) {
    const slice = Math.max(0, Math.min(deadline - Date.now(), STORE_WAIT_SLICE_MS));
    const stored = await store.waitFor(keys.applied(hostname), { timeoutMs: slice, ...(signal ? { signal } : {}) });
    if (stored) {
      try {
        if ((JSON.parse(stored.value) as AppliedRecord).nodeId === nodeId) return 'applied';
      } catch {
        // ignore a malformed ack, keep waiting
      }
    }
    if (await store.get(keys.removed(nodeId))) return 'removed';
    if (Date.now() >= deadline || signal?.aborted) return 'timeout';
    // An ack for an older node ID: wait for the fresh one without spinning.
    if (stored) await sleep(LOCAL_STATE_POLL_MS);
  }
}
