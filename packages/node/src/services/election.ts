import { probeForDhcpServer } from '@cluster-lab/dhcp';
import { createRealElectionDeps, electLeader } from '@cluster-lab/election';
import { readClusterFile } from '../cluster-state/cluster-file.js';
import type { ElectionOutcome, LinkInfo, ServiceContext } from '../node-services.js';
import { electionSecurity } from '../supervise/election-security.js';
import { prepareNodeAddress } from './node-address.js';

/**
 * Elects this node leader or follower on the cluster link (split-brain-safe, see
 * `@cluster-lab/election`). A leader re-running start already holds the address: no election,
 * nothing claimed. A node that may win does two slow checks alongside the election and hands
 * them on in the outcome, so the winner reads their answers instead of waiting for them: the
 * rogue-DHCP probe (seconds: udhcpc's resolution), when it serves DHCP, and the ARP probe of the
 * node address it would take.
 */
export async function electNode(ctx: ServiceContext, link: LinkInfo): Promise<ElectionOutcome> {
  const { config, network, runner, leaderCidr } = ctx.node;
  if ((await network.listAddresses(link.name)).some((a) => a.cidr === leaderCidr)) return { role: 'leader', claimed: false, candidates: 1 };
  const dhcpProbe =
    config.dhcp.enabled && config.role !== 'follower' ? probeForDhcpServer({ runner, link: link.name, signal: ctx.signal }) : undefined;
  // Awaited (and their errors reported) by the DHCP server and node address steps, if this node wins.
  dhcpProbe?.catch(() => {});
  const nodeAddress = config.role !== 'follower' ? prepareNodeAddress(ctx.node, link, ctx.signal) : undefined;
  nodeAddress?.catch(() => {});
  // Signed with the cluster secret (or open, warned about); a node that knows its cluster says so (members rank first).
  const security = await electionSecurity(ctx.node);
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
    ...(nodeAddress && result.role === 'leader' ? { nodeAddress } : {}),
    ...(result.members.length ? { members: result.members } : {}),
  };
}

/** Removes the leader address this node claimed; nothing to do when the link is gone. */
export async function releaseLeaderAddress(ctx: ServiceContext, link: string, cidr: string): Promise<void> {
  const { network } = ctx.node;
  if (await network.getLink(link)) await network.delAddress(link, cidr);
}
