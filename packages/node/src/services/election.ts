import { probeForDhcpServer } from '@cluster-lab/dhcp';
import { createRealElectionDeps, electLeader } from '@cluster-lab/election';
import type { ElectionOutcome, LinkInfo, ServiceContext } from '../node-services.js';
import { electionSecurity } from '../supervise/election-security.js';
import { readClusterFile } from '../supervise/known-cluster.js';

/**
 * Elects this node leader or follower on the cluster link (split-brain-safe, see
 * `@cluster-lab/election`). A leader re-running start already holds the address: no election,
 * nothing claimed. A node that may win and serves DHCP starts the rogue-DHCP probe alongside the
 * election (it takes seconds, udhcpc's resolution) and hands it on in the outcome, so the DHCP
 * server step reads its answer instead of probing after the election.
 */
export async function electNode(ctx: ServiceContext, link: LinkInfo): Promise<ElectionOutcome> {
  const { config, network, runner, leaderCidr } = ctx.node;
  if ((await network.listAddresses(link.name)).some((a) => a.cidr === leaderCidr)) return { role: 'leader', claimed: false, candidates: 1 };
  const dhcpProbe =
    config.dhcp.enabled && config.role !== 'follower' ? probeForDhcpServer({ runner, link: link.name, signal: ctx.signal }) : undefined;
  // Awaited (and its error reported) by the DHCP server step, if this node wins.
  dhcpProbe?.catch(() => {});
  // Signed with the cluster secret (or open, warned about); a node that knows its cluster says so (members rank first).
  const security = await electionSecurity(config);
  const known = await readClusterFile(ctx.node);
  const result = await electLeader({
    link: link.name,
    mac: link.mac,
    leaderAddress: config.leaderAddress,
    prefix: ctx.node.prefix,
    priority: config.priority,
    role: config.role,
    network,
    ...createRealElectionDeps({ runner, network, onEvent: ctx.onEvent, security }),
    member: {
      ...(known.clusterId ? { clusterId: known.clusterId } : {}),
      ...(known.nodeAddress ? { nodeAddress: known.nodeAddress } : {}),
    },
    nodeId: ctx.node.hostname,
    signal: ctx.signal,
    onEvent: ctx.onEvent,
  });
  return {
    role: result.role,
    claimed: result.claimed,
    candidates: result.candidates,
    ...(dhcpProbe ? { dhcpProbe } : {}),
    ...(result.members.length ? { members: result.members } : {}),
  };
}

/** Removes the leader address this node claimed; nothing to do when the link is gone. */
export async function releaseLeaderAddress(ctx: ServiceContext, link: string, cidr: string): Promise<void> {
  const { network } = ctx.node;
  if (await network.getLink(link)) await network.delAddress(link, cidr);
}
