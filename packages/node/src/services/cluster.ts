import { readFile } from 'node:fs/promises';
import { parseLeaseFile } from '@cluster-lab/dhcp';
import { readClusterFile } from '../cluster-state/cluster-file.js';
import { type ClusterIdentity, registerCluster } from '../cluster-state/cluster-identity.js';
import { askConsulAt, type ClusterDiscovery, discoverCluster, discoveryCandidates } from '../cluster-state/discover-cluster.js';
import { claimRoleSlot } from '../cluster-state/role-slots.js';
import type { ElectionOutcome, RunningConsul, ServiceContext } from '../node-services.js';

/**
 * Leader: discover before bootstrap. Asks the addresses this node knows — the Consul servers and
 * Swarm managers in its `cluster.json`, members heard in the election, every address of its lease
 * database — whether a Consul cluster with a leader runs there (see `discoverCluster`). A
 * `bootstrap` after a timeout is announced as a warning: a cluster it could not reach may exist.
 */
export async function discoverClusterOfLeader(
  ctx: ServiceContext,
  args: { election: Pick<ElectionOutcome, 'members'>; nodeAddress: string },
): Promise<ClusterDiscovery> {
  const { node } = ctx;
  if (!node.config.consul.enabled) return { decision: 'bootstrap', reason: 'no-candidates', candidates: [], durationMs: 0 };
  const known = await readClusterFile(node);
  const now = Date.now();
  const leases = parseLeaseFile(await readFile(node.paths.dnsmasq.leaseFile, 'utf8').catch(() => '')).filter(
    (l) => l.expiresAt === null || l.expiresAt.getTime() > now,
  );
  const candidates = discoveryCandidates({
    consulServers: known.consulServers,
    swarmManagers: known.swarmManagers,
    ...(args.election.members ? { members: args.election.members } : {}),
    leases,
    exclude: [args.nodeAddress, node.config.leaderAddress],
  });
  const found = await discoverCluster({ candidates, ask: askConsulAt(node), signal: ctx.signal });
  if (found.decision === 'join') {
    ctx.onEvent({
      type: 'log',
      level: 'info',
      message: `found the cluster at ${found.answer?.address} (Consul leader ${found.answer?.leader}); joining it`,
      source: 'cluster',
    });
  } else if (found.reason === 'timeout') {
    ctx.onEvent({
      type: 'log',
      level: 'warn',
      message: `no cluster answered at ${found.candidates.join(', ')} within ${Math.round(found.durationMs / 100) / 10} s: bootstrapping a NEW cluster. If the old one still runs somewhere, this is a split — \`cluster-lab health\` will say so`,
      source: 'cluster',
    });
  }
  return found;
}

/**
 * The bootstrapping node: takes its own slot (it is a Consul server and Swarm manager), then
 * writes the cluster's identity record, which joiners wait for before they claim slots — so
 * the first node's slot is always taken first. An identity already there (a repeated start) is
 * kept. Waits for the agent's Raft leader (the store's first operation does).
 */
export async function registerNewCluster(ctx: ServiceContext, consul: RunningConsul): Promise<ClusterIdentity> {
  const { node } = ctx;
  const { config } = node;
  await claimRoleSlot(consul.store, node.hostname, { slots: config.consul.servers, signal: ctx.signal });
  const { identity } = await registerCluster(consul.store, { consulServers: config.consul.servers, managers: config.swarm.managers });
  return identity;
}
