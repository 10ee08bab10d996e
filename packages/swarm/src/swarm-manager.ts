import { assertIpv4, type ClusterStore, type EventSink, ignoreEvents } from '@cluster-lab/core';
import { type DockerClient, type DockerInfo, inspectEngine, inspectSwarm, managerAddress, SWARM_PORT } from './docker-api.js';
import { SWARM_CALLS, swarmError, toSwarmError } from './errors.js';
import { gatewayBridgeExists } from './gateway-bridge.js';
import { assertUserLabels } from './labels.js';
import { assertManagerCount, DEFAULT_MANAGERS, emptySlots, type ManagerSlots } from './manager-count.js';
import { type ClusterRecord, type NodeRecord, readJson, swarmKeys, writeJson } from './store-keys.js';
import { reconcile, SLOTS_LOCK_TIMEOUT_MS } from './swarm-reconcile.js';
import { type SwarmTokenKey, sealSwarmToken } from './token-sealing.js';

/** Options of {@link initManager}. */
export interface InitManagerOptions {
  /** The leader's local Docker API (unix socket). */
  docker: DockerClient;
  /** Where tokens and manager addresses are published (Consul KV in production). */
  store: ClusterStore;
  /** The leader's cluster address: the only address Swarm advertises. */
  advertiseAddr: string;
  /** Address for overlay (VXLAN) traffic; default `advertiseAddr`. */
  dataPathAddr?: string;
  /** Address the swarm port binds to; default `advertiseAddr` (never 0.0.0.0: the uplink stays closed). */
  listenAddr?: string;
  /**
   * The swarm this node must belong to if it already is in one; default: the cluster ID
   * recorded in the store. A node in a different swarm is an error, never silently re-initialised.
   */
  clusterId?: string;
  /** Managers the cluster keeps (odd, 1–7); recorded for joiners and reconcile. Default 3. */
  managers?: number;
  /** User labels from the config (`swarm.labels`). */
  labels?: Record<string, string>;
  /** Store key prefix; default `swarm` (`DEFAULT_KEY_PREFIX`). */
  keyPrefix?: string;
  /**
   * Seals the join tokens before they go to the store (`ClusterKeys.swarmTokenKey`): AES-256-GCM
   * bound to their store key, so a copy of the store is useless without the cluster secret.
   * Undefined: stored in clear (`security: open`).
   */
  tokenKey?: SwarmTokenKey;
  onEvent?: EventSink;
}

/** What {@link initManager} did. */
export interface InitManagerResult {
  clusterId: string;
  nodeId: string;
  hostname: string;
  /** False when the node already managed this cluster (idempotent re-run). */
  created: boolean;
  /**
   * Whether Docker's `docker_gwbridge` network was there before this call. When `created` and
   * not, the swarm init made it: the undo removes it (`leave({ removeGatewayBridge })`).
   */
  gatewayBridgeExisted: boolean;
  durationMs: number;
}

/**
 * Makes this node the first Swarm manager (`POST /swarm/init`) and publishes what followers
 * need — worker and manager join tokens, manager addresses, the manager count — to the
 * `ClusterStore`. Tokens go to the store only: never to events, logs or error messages.
 *
 * Swarm is bound to the cluster address only: `AdvertiseAddr`, `DataPathAddr` and
 * `ListenAddr` are the cluster address, so neither the swarm port nor overlay traffic touches
 * the uplink. The Docker API itself stays on its unix socket.
 *
 * Idempotent: a node that already manages this swarm (same cluster ID as `clusterId` or the
 * store; or, with no recorded ID, a swarm advertised on `advertiseAddr`) republishes the
 * tokens and returns `created: false`. A node in another swarm, a worker, or a locked swarm
 * fails with a `ClusterLabError` and a hint.
 *
 * @example
 * ```ts
 * const { clusterId } = await initManager({ docker, store, advertiseAddr: '192.168.200.1', labels: { storage: 'ssd' } });
 * ```
 */
export async function initManager(options: InitManagerOptions): Promise<InitManagerResult> {
  const started = performance.now();
  const { docker, store } = options;
  const onEvent = options.onEvent ?? ignoreEvents;
  const managers = options.managers ?? DEFAULT_MANAGERS;
  assertManagerCount(managers);
  assertAddress(options.advertiseAddr, 'advertiseAddr');
  const dataPathAddr = options.dataPathAddr ?? options.advertiseAddr;
  const listenAddr = options.listenAddr ?? options.advertiseAddr;
  assertAddress(dataPathAddr, 'dataPathAddr');
  assertAddress(listenAddr, 'listenAddr');
  const labels = options.labels ?? {};
  assertUserLabels(labels);
  const keys = swarmKeys(options.keyPrefix);

  onEvent({ type: 'step-started', step: 'swarm-init', title: 'initialise Docker Swarm' });
  const info = await inspectEngine(docker);
  // The store is read only when needed, and after `swarm init` on a fresh node: a store that is
  // still waiting for its Raft leader (a first Consul server elects itself in 1–2 s) then
  // overlaps the init instead of delaying it.
  const readRecorded = async () => (await readJson<ClusterRecord>(store, keys.cluster))?.value.clusterId;
  let recorded: string | undefined;
  let created = false;
  const gatewayBridgeExisted = info.Swarm.LocalNodeState === 'inactive' ? await gatewayBridgeExists(docker) : true;
  switch (info.Swarm.LocalNodeState) {
    case 'active':
      recorded = await readRecorded();
      assertOwnSwarm(info, options.clusterId ?? recorded, options.advertiseAddr);
      break;
    case 'inactive':
      try {
        await docker.swarmInit({
          ListenAddr: `${listenAddr}:${SWARM_PORT}`,
          AdvertiseAddr: `${options.advertiseAddr}:${SWARM_PORT}`,
          DataPathAddr: dataPathAddr,
        });
      } catch (error) {
        throw toSwarmError(error, `initialise the swarm on ${options.advertiseAddr}`, SWARM_CALLS.init);
      }
      created = true;
      recorded = await readRecorded();
      break;
    case 'locked':
      throw swarmError('SWARM_LOCKED', `the swarm on ${info.Name} is locked (autolock)`, {
        hint: 'unlock it with `docker swarm unlock`, or leave it with `docker swarm leave --force`',
      });
    default:
      throw swarmError(
        'SWARM_NOT_MANAGER',
        `this node's swarm state is "${info.Swarm.LocalNodeState}"${info.Swarm.Error ? `: ${info.Swarm.Error}` : ''}`,
        {
          hint: 'wait for the node to reconnect, or reset it with `docker swarm leave --force`',
        },
      );
  }

  const swarm = await inspectSwarm(docker);
  const self = await inspectEngine(docker);
  if (created && recorded && recorded !== swarm.ID) {
    onEvent({
      type: 'log',
      level: 'warn',
      message: `replacing swarm ${recorded} recorded in the cluster store with new swarm ${swarm.ID}`,
      source: 'swarm',
    });
  }
  // Order matters: a stale record of an earlier swarm goes first (joiners must not pair it with
  // the new tokens), then tokens and addresses, the cluster record last — joiners wait for it.
  if (created && recorded) await store.delete(keys.cluster);
  await store.put(keys.workerToken, sealSwarmToken(options.tokenKey, keys.workerToken, swarm.JoinTokens.Worker));
  await store.put(keys.managerToken, sealSwarmToken(options.tokenKey, keys.managerToken, swarm.JoinTokens.Manager));
  await writeJson(store, keys.managers, [{ nodeId: self.Swarm.NodeID, hostname: self.Name, addr: managerAddress(options.advertiseAddr) }]);
  await writeJson(store, keys.node(self.Name), {
    hostname: self.Name,
    nodeId: self.Swarm.NodeID,
    role: 'leader',
    labels,
    addr: options.advertiseAddr,
    updatedAt: new Date().toISOString(),
  } satisfies NodeRecord);
  const lock = await store.lock(keys.slotsLock, { timeoutMs: SLOTS_LOCK_TIMEOUT_MS });
  try {
    // Slots name the nodes that are or are about to become managers; nodes may have taken theirs
    // before the swarm existed (the boot flow gives a Consul server slot and a manager slot in one
    // claim), so they stay. Node IDs of an earlier swarm mean nothing in this one.
    const slots = (await readJson<ManagerSlots>(store, keys.slots))?.value ?? emptySlots();
    if (recorded !== swarm.ID) {
      for (const holder of Object.values(slots.holders)) delete holder.nodeId;
    }
    slots.holders[self.Name] = { nodeId: self.Swarm.NodeID, since: slots.holders[self.Name]?.since ?? Date.now() };
    await writeJson(store, keys.slots, slots);
  } finally {
    await lock.release();
  }
  // The leader is a manager, so it labels itself (and cleans up, refreshes addresses) right away —
  // before announcing the cluster, so it does not queue behind the first manager-joiners' slot lock.
  await reconcile({ docker, store, managers, keyPrefix: options.keyPrefix, onEvent });
  await writeJson(store, keys.cluster, { clusterId: swarm.ID, managers, createdAt: new Date().toISOString() } satisfies ClusterRecord);
  const durationMs = Math.round(performance.now() - started);
  onEvent({
    type: 'step-finished',
    step: 'swarm-init',
    title: 'initialise Docker Swarm',
    durationMs,
    detail: created ? `swarm ${swarm.ID} created on ${options.advertiseAddr}` : `already managing swarm ${swarm.ID}`,
  });
  return { clusterId: swarm.ID, nodeId: self.Swarm.NodeID, hostname: self.Name, created, gatewayBridgeExisted, durationMs };
}

function assertOwnSwarm(info: DockerInfo, expected: string | undefined, advertiseAddr: string): void {
  const actual = info.Swarm.Cluster?.ID;
  if (!info.Swarm.ControlAvailable) {
    throw swarmError('SWARM_NOT_MANAGER', `${info.Name} is a worker of a swarm and cannot initialise or lead it`, {
      hint: 'promote it from a manager (`docker node promote`) or run `cluster-lab stop` on it before starting it as leader',
    });
  }
  const ours = expected ? actual === expected : info.Swarm.NodeAddr === advertiseAddr;
  if (!ours) {
    throw swarmError(
      'SWARM_OTHER_CLUSTER',
      expected
        ? `${info.Name} manages swarm ${actual}, not this cluster's swarm ${expected}`
        : `${info.Name} manages swarm ${actual} advertised on ${info.Swarm.NodeAddr}, not on the cluster address ${advertiseAddr}`,
      { hint: 'leave the other swarm with `docker swarm leave --force` (this removes its services on this node), then start again' },
    );
  }
}

/** Validates an IPv4 option, turning core's error into a SWARM_INVALID_OPTION naming the field. */
export function assertAddress(value: string, field: string): void {
  try {
    assertIpv4(value);
  } catch {
    throw swarmError('SWARM_INVALID_OPTION', `${field} "${value}" is not an IPv4 address`, {
      hint: `${field} must be this node's cluster address, e.g. 192.168.200.1 (no port)`,
      errorClass: 'config',
    });
  }
}
