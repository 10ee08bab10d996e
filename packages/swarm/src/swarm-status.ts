import { type Check, fail, pass, skip, warn } from '@cluster-lab/core';
import { type DockerClient, inspectEngine, type LocalNodeState, listSwarmNodes } from './docker-api.js';
import { quorumOf } from './manager-count.js';

/** One swarm node as reported by {@link status}. */
export interface SwarmNodeStatus {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  availability: 'active' | 'pause' | 'drain';
  /** `ready`, `down`, `unknown` or `disconnected`. */
  state: string;
  /** The address the node connects from (its cluster address). */
  address: string;
  labels: Record<string, string>;
  /** Managers only: reachable/unreachable/unknown. */
  reachability?: string;
  /** The current Raft leader. */
  leader: boolean;
}

/** Manager health as seen from a manager. */
export interface QuorumStatus {
  managers: number;
  reachable: number;
  /** Managers needed for a majority. */
  quorum: number;
  /** A majority of managers is reachable. */
  healthy: boolean;
  /** Managers that can be lost before the quorum is (0 = the next failure stops the control plane). */
  faultTolerance: number;
  unreachable: string[];
}

/** What {@link status} reports. */
export interface SwarmStatus {
  local: {
    hostname: string;
    state: LocalNodeState;
    nodeId: string;
    /** Address this node advertises. */
    address: string;
    role: 'manager' | 'worker' | 'none';
    clusterId?: string;
    error?: string;
    /** Managers this node knows (available on workers too). */
    remoteManagers: Array<{ nodeId: string; addr: string }>;
  };
  /** All nodes — only on a manager (workers cannot list nodes). */
  nodes?: SwarmNodeStatus[];
  /** Quorum health — only on a manager. */
  quorum?: QuorumStatus;
}

/**
 * Reports the swarm as this node sees it. Every node reports its own state and known managers;
 * a manager also lists all nodes (hostname, role, availability, state, address, labels) and
 * the quorum health.
 *
 * @example
 * ```ts
 * const s = await status({ docker });
 * for (const n of s.nodes ?? []) console.log(n.hostname, n.role, n.state);
 * ```
 */
export async function status(options: { docker: DockerClient }): Promise<SwarmStatus> {
  const info = await inspectEngine(options.docker);
  const s = info.Swarm;
  const isManager = s.LocalNodeState === 'active' && s.ControlAvailable;
  const result: SwarmStatus = {
    local: {
      hostname: info.Name,
      state: s.LocalNodeState,
      nodeId: s.NodeID,
      address: s.NodeAddr,
      role: s.LocalNodeState === 'inactive' ? 'none' : isManager ? 'manager' : 'worker',
      ...(s.Cluster?.ID ? { clusterId: s.Cluster.ID } : {}),
      ...(s.Error ? { error: s.Error } : {}),
      remoteManagers: (s.RemoteManagers ?? []).map((m) => ({ nodeId: m.NodeID, addr: m.Addr })),
    },
  };
  if (!isManager) return result;
  const nodes = await listSwarmNodes(options.docker);
  result.nodes = nodes
    .map((n) => ({
      id: n.ID,
      hostname: n.Description.Hostname,
      role: n.Spec.Role,
      availability: n.Spec.Availability,
      state: n.Status.State,
      address: n.Status.Addr ?? '',
      labels: n.Spec.Labels ?? {},
      ...(n.ManagerStatus ? { reachability: n.ManagerStatus.Reachability } : {}),
      leader: Boolean(n.ManagerStatus?.Leader),
    }))
    .sort((a, b) => a.hostname.localeCompare(b.hostname));
  const managers = result.nodes.filter((n) => n.role === 'manager');
  const reachable = managers.filter((n) => n.reachability === 'reachable');
  const quorum = quorumOf(managers.length);
  result.quorum = {
    managers: managers.length,
    reachable: reachable.length,
    quorum,
    healthy: reachable.length >= quorum,
    faultTolerance: Math.max(0, reachable.length - quorum),
    unreachable: managers.filter((n) => n.reachability !== 'reachable').map((n) => n.hostname),
  };
  return result;
}

/**
 * Health checks for `cluster-lab health`: this node is in the swarm; (on managers) the quorum
 * is healthy and every node is Ready.
 *
 * @example
 * ```ts
 * const report = await runChecks(swarmChecks({ docker }));
 * ```
 */
export function swarmChecks(options: { docker: DockerClient }): Check[] {
  let cached: Promise<SwarmStatus> | undefined;
  const get = () => {
    cached ??= status(options);
    return cached;
  };
  return [
    {
      id: 'swarm-member',
      title: 'node is in the swarm',
      run: async () => {
        const s = await get();
        if (s.local.state === 'active') return pass(`${s.local.hostname} is a ${s.local.role} (${s.local.address})`);
        return fail(
          `swarm state is "${s.local.state}"${s.local.error ? `: ${s.local.error}` : ''}`,
          'run `cluster-lab start`; check the managers are reachable on TCP 2377',
        );
      },
    },
    {
      id: 'swarm-quorum',
      title: 'swarm managers have a quorum',
      run: async () => {
        const s = await get();
        if (!s.quorum) return skip('only managers can see the quorum');
        const q = s.quorum;
        const detail = `${q.reachable}/${q.managers} managers reachable (quorum ${q.quorum})`;
        if (!q.healthy) return fail(detail, `bring back ${q.unreachable.join(', ')}`);
        if (q.managers % 2 === 0) return warn(`${detail}; an even manager count adds no fault tolerance`, 'add or remove one node');
        return pass(detail);
      },
    },
    {
      id: 'swarm-nodes-ready',
      title: 'all swarm nodes are Ready',
      run: async () => {
        const s = await get();
        if (!s.nodes) return skip('only managers can list nodes');
        const notReady = s.nodes.filter((n) => n.state !== 'ready');
        if (notReady.length === 0) return pass(`${s.nodes.length} nodes Ready`);
        return fail(
          `not Ready: ${notReady.map((n) => `${n.hostname} (${n.state})`).join(', ')}`,
          'check those nodes are up and `cluster-lab start` passed there',
        );
      },
    },
  ];
}
