import { describeError } from '@cluster-lab/core';
import { dnsmasqServer } from '@cluster-lab/dhcp';
import { status as swarmStatus } from '@cluster-lab/swarm';
import { readClusterFile } from '../cluster-state/cluster-file.js';
import type { JournalView } from '../journal-view.js';
import type { NodeFacts } from '../node-facts.js';
import { readSupervisorStatus } from '../supervise/supervisor-status.js';
import type { SwarmRepairState } from '../supervise/swarm-repair.js';

/** Everything `cluster-lab status` reports (also its `--json` shape). */
export interface NodeStatus {
  type: 'status';
  running: boolean;
  /** `leader`: this node holds the leader address (and serves DHCP). */
  role?: 'leader' | 'follower';
  /** This node's own address: Consul binds it, Swarm advertises it. */
  address?: string;
  link?: string;
  /** The leader address; `holdsLeaderAddress` says whether this node holds it. */
  leaderAddress: string;
  holdsLeaderAddress?: boolean;
  /** The cluster this node joined (its identity record in Consul KV). */
  clusterId?: string;
  /** Docker's id of the cluster's swarm. */
  swarmClusterId?: string;
  /**
   * Leader: its look for an existing cluster at this start. `bootstrappedAlone` is set when it
   * bootstrapped a new cluster because nobody answered at the addresses it knew (a possible split).
   */
  discovery?: { decision: string; reason: string; candidates: string[] };
  bootstrappedAlone?: { at: string; candidates: string[]; previousClusterId?: string };
  backend: { kind: string; name: string; exists: boolean; up: boolean; ok: boolean };
  /** Leader only: the DHCP leases handed out. */
  leases?: { mac: string; ip: string; hostname?: string; expiresAt?: string }[];
  consul?: {
    server?: boolean;
    leader?: string;
    members: { name: string; address: string; status: string; role: 'server' | 'client' }[];
    error?: string;
  };
  swarm?: {
    role?: string;
    state: string;
    nodes?: { hostname: string; role: string; state: string; availability: string; address: string }[];
    managers?: number;
    error?: string;
  };
  /** What the supervisor reports: its pid, the leader address's holder it follows (or this node), the term, upkeep. */
  supervisor?: {
    pid: number;
    updatedAt: string;
    role?: 'leader' | 'member';
    term?: number;
    leader?: { mac: string; nodeId: string };
    rogues?: string[];
    removed?: string[];
    promoted?: string[];
    /** This node's own swarm membership as the supervisor's swarm repair saw it last. */
    swarmRepair?: {
      stuckState?: 'error' | 'pending';
      stuckSince?: string;
      lastRepair?: { at: string; reason: string; ok: boolean; detail: string };
    };
  };
}

/** Collects {@link NodeStatus}; parts that cannot be read carry an `error` instead of failing the whole. */
export async function collectStatus(node: NodeFacts, journal: JournalView | undefined): Promise<NodeStatus> {
  const { config, runner, network } = node;
  const facts = (journal?.facts ?? {}) as {
    role?: 'leader' | 'follower';
    address?: string;
    link?: string;
    clusterId?: string | null;
    swarmClusterId?: string | null;
    discovery?: NodeStatus['discovery'] | null;
  };
  const d = await node.backend.describe();
  const out: NodeStatus = {
    type: 'status',
    running: journal?.status === 'running',
    leaderAddress: config.leaderAddress,
    backend: { kind: d.kind, name: d.name, exists: d.exists, up: d.up, ok: d.ok },
  };
  if (facts.role) {
    out.role = facts.role;
    out.holdsLeaderAddress = facts.role === 'leader';
  }
  if (facts.address) out.address = facts.address;
  if (facts.link) out.link = facts.link;
  if (facts.clusterId) out.clusterId = facts.clusterId;
  if (facts.swarmClusterId) out.swarmClusterId = facts.swarmClusterId;
  if (facts.discovery) out.discovery = facts.discovery;
  if (!out.running) return out;
  const known = await readClusterFile(node);
  if (known.bootstrappedAlone && known.clusterId === facts.clusterId) out.bootstrappedAlone = known.bootstrappedAlone;

  if (facts.role === 'leader' && config.dhcp.enabled) {
    const leases = await dnsmasqServer({ runner, network, config, link: d.name }).leases();
    out.leases = leases.map((l) => ({
      mac: l.mac,
      ip: l.ip,
      ...(l.hostname ? { hostname: l.hostname } : {}),
      ...(l.expiresAt ? { expiresAt: l.expiresAt.toISOString() } : {}),
    }));
  }
  if (config.consul.enabled) {
    const client = node.localConsul({ timeoutMs: 3000 });
    try {
      const [health, members] = await Promise.all([client.agentHealth(), client.members()]);
      out.consul = {
        server: health.server,
        ...(health.leader ? { leader: health.leader } : {}),
        members: members.map((m) => ({ name: m.name, address: m.address, status: m.status, role: m.role })),
      };
    } catch (error) {
      out.consul = { members: [], error: describeError(error) };
    } finally {
      client.close();
    }
  }
  const supervisor = await readSupervisorStatus(node);
  if (supervisor) {
    const l = supervisor.leadership;
    out.supervisor = {
      pid: supervisor.pid,
      updatedAt: new Date(supervisor.updatedAt).toISOString(),
      ...(l ? { role: l.role, term: l.term, rogues: l.rogues.map((r) => r.mac) } : {}),
      ...(l?.leader ? { leader: { mac: l.leader.mac, nodeId: l.leader.nodeId } } : {}),
      ...(supervisor.upkeep
        ? { removed: supervisor.upkeep.removed.map((r) => r.hostname), promoted: supervisor.upkeep.promoted.map((p) => p.hostname) }
        : {}),
      ...(supervisor.swarmRepair ? { swarmRepair: repairView(supervisor.swarmRepair) } : {}),
    };
  }
  if (config.swarm.enabled) {
    try {
      const s = await swarmStatus({ docker: node.docker });
      out.swarm = {
        role: s.local.role,
        state: s.local.state,
        ...(s.nodes
          ? {
              nodes: s.nodes.map((n) => ({
                hostname: n.hostname,
                role: n.role,
                state: n.state,
                availability: n.availability,
                address: n.address,
              })),
            }
          : {}),
        ...(s.quorum ? { managers: s.quorum.managers } : {}),
      };
    } catch (error) {
      out.swarm = { state: 'unknown', error: describeError(error) };
    }
  }
  return out;
}

function repairView(r: SwarmRepairState): NonNullable<NonNullable<NodeStatus['supervisor']>['swarmRepair']> {
  return {
    ...(r.stuckState ? { stuckState: r.stuckState } : {}),
    ...(r.stuckSince ? { stuckSince: new Date(r.stuckSince).toISOString() } : {}),
    ...(r.lastRepair ? { lastRepair: { ...r.lastRepair, at: new Date(r.lastRepair.at).toISOString() } } : {}),
  };
}
