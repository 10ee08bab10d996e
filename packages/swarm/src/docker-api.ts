import type Dockerode from 'dockerode';
import { SWARM_CALLS, toSwarmError } from './errors.js';

/**
 * The Docker client every function of this package takes: a dockerode instance talking to the
 * node's local unix socket. The Docker API is never opened on TCP; nodes coordinate through the
 * `ClusterStore` and Swarm's own mutual-TLS port instead.
 */
export type DockerClient = Dockerode;

/** The swarm port managers listen on (Docker's default). */
export const SWARM_PORT = 2377;

/** `Swarm.LocalNodeState` from `GET /info`. */
export type LocalNodeState = 'inactive' | 'pending' | 'active' | 'error' | 'locked';

/** The subset of `GET /info` this package reads. */
export interface DockerInfo {
  /** The engine's hostname: the name the node gets in the swarm. */
  Name: string;
  /** `uname -m` style architecture, e.g. `x86_64`, `aarch64`, `armv7l`. */
  Architecture: string;
  Swarm: {
    NodeID: string;
    NodeAddr: string;
    LocalNodeState: LocalNodeState;
    ControlAvailable: boolean;
    Error: string;
    RemoteManagers: Array<{ NodeID: string; Addr: string }> | null;
    Cluster?: { ID: string } | null;
  };
}

/** The subset of a swarm node object (`GET /nodes`) this package reads. */
export interface SwarmNodeObject {
  ID: string;
  Version: { Index: number };
  Spec: {
    Name?: string;
    Labels?: Record<string, string>;
    Role: 'manager' | 'worker';
    Availability: 'active' | 'pause' | 'drain';
  };
  Description: {
    Hostname: string;
    Platform?: { Architecture?: string; OS?: string };
  };
  Status: { State: 'unknown' | 'down' | 'ready' | 'disconnected'; Addr?: string; Message?: string };
  ManagerStatus?: { Leader?: boolean; Reachability: 'unknown' | 'unreachable' | 'reachable'; Addr: string };
}

/** The subset of `GET /swarm` this package reads. */
export interface SwarmObject {
  ID: string;
  JoinTokens: { Worker: string; Manager: string };
}

/** Reads `GET /info` (works on every node, manager or not). */
export async function inspectEngine(docker: DockerClient): Promise<DockerInfo> {
  try {
    return (await docker.info()) as DockerInfo;
  } catch (error) {
    throw toSwarmError(error, 'read the Docker engine info', SWARM_CALLS.info);
  }
}

/**
 * Lists swarm nodes (`GET /nodes`); managers only. A node that has just joined may not have
 * reported its description yet: missing fields are filled (empty hostname, no labels) so callers
 * never trip over them.
 */
export async function listSwarmNodes(docker: DockerClient): Promise<SwarmNodeObject[]> {
  let nodes: Array<Partial<SwarmNodeObject>>;
  try {
    nodes = (await docker.listNodes()) as Array<Partial<SwarmNodeObject>>;
  } catch (error) {
    throw toSwarmError(error, 'list swarm nodes', SWARM_CALLS.listNodes);
  }
  return nodes.map(normaliseNode);
}

/** Fills the fields of a node object that Docker omits while a node is still registering. */
export function normaliseNode(node: Partial<SwarmNodeObject>): SwarmNodeObject {
  return {
    ...node,
    ID: node.ID ?? '',
    Version: node.Version ?? { Index: 0 },
    Spec: { Role: 'worker', Availability: 'active', ...node.Spec, Labels: node.Spec?.Labels ?? {} },
    Description: { ...node.Description, Hostname: node.Description?.Hostname ?? '' },
    Status: { ...node.Status, State: node.Status?.State ?? 'unknown' },
  } as SwarmNodeObject;
}

/** Reads `GET /swarm` (cluster ID and join tokens); managers only. The result holds secrets. */
export async function inspectSwarm(docker: DockerClient): Promise<SwarmObject> {
  try {
    return (await docker.swarmInspect()) as SwarmObject;
  } catch (error) {
    throw toSwarmError(error, 'inspect the swarm', SWARM_CALLS.inspectSwarm);
  }
}

/**
 * Replaces a node's spec (`POST /nodes/{id}/update?version=N`). The version makes the write
 * conditional: Swarm rejects it when someone changed the node in between.
 */
export async function updateSwarmNode(docker: DockerClient, node: SwarmNodeObject, spec: SwarmNodeObject['Spec']): Promise<void> {
  try {
    // _query/_body keep the spec out of the query string (docker-modem otherwise sends both).
    await docker.getNode(node.ID).update({ _query: { version: node.Version.Index }, _body: spec });
  } catch (error) {
    throw toSwarmError(error, `update swarm node ${node.Description.Hostname} (${node.ID})`, SWARM_CALLS.updateNode);
  }
}

/** Removes a node from the swarm (`DELETE /nodes/{id}`); a node already gone counts as removed. */
export async function removeSwarmNode(docker: DockerClient, node: SwarmNodeObject, force = false): Promise<void> {
  try {
    await docker.getNode(node.ID).remove({ force });
  } catch (error) {
    const mapped = toSwarmError(error, `remove swarm node ${node.Description.Hostname} (${node.ID})`, SWARM_CALLS.removeNode);
    if (mapped.code === 'SWARM_NODE_NOT_FOUND') return;
    throw mapped;
  }
}

/** The `host:port` a manager is reached at for joins. */
export function managerAddress(address: string): string {
  return address.includes(':') ? address : `${address}:${SWARM_PORT}`;
}
