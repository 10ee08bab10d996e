import { readFile } from 'node:fs/promises';
import { ClusterLabError, cidrContains } from '@cluster-lab/core';
import { parseHostsFile, parseLeaseFile } from '@cluster-lab/dhcp';
import { ArpingProber } from '@cluster-lab/election';
import { chooseNodeAddress } from '../cluster-state/choose-node-address.js';
import { readClusterFile } from '../cluster-state/cluster-file.js';
import type { NodeFacts } from '../node-facts.js';
import type { ElectionOutcome, LinkInfo, NodeAddressOutcome, ServiceContext } from '../node-services.js';

/** Candidates probed before giving up: each one another host answered for is skipped. */
const MAX_PROBED_CANDIDATES = 5;

/**
 * The node address this node would take as leader (see {@link chooseNodeAddress}), checked
 * with an ARP probe so an address some host holds without a lease (a lease database lost with
 * `stop --purge`) is skipped. Started during the election by a node that may win, so the probe
 * costs the leader no time.
 */
export async function prepareNodeAddress(node: NodeFacts, link: LinkInfo, signal?: AbortSignal): Promise<string> {
  const { config } = node;
  const held = await heldNodeAddress(node, link.name);
  if (held) return held;
  const [known, leaseText, hostsText] = await Promise.all([
    readClusterFile(node),
    readText(node.paths.dnsmasq.leaseFile),
    readText(node.paths.dnsmasq.hostsFile),
  ]);
  const now = Date.now();
  const leases = parseLeaseFile(leaseText).filter((l) => l.expiresAt === null || l.expiresAt.getTime() > now);
  const reservations = [...config.dhcp.staticLeases, ...parseHostsFile(hostsText)];
  const prober = new ArpingProber({ runner: node.runner });
  const taken = new Set<string>();
  for (let attempt = 0; attempt < MAX_PROBED_CANDIDATES && !signal?.aborted; attempt++) {
    const address = chooseNodeAddress({
      rangeStart: config.dhcp.rangeStart,
      rangeEnd: config.dhcp.rangeEnd,
      leaderAddress: config.leaderAddress,
      mac: link.mac,
      ...(known.nodeAddress ? { previous: known.nodeAddress } : {}),
      leases,
      reservations,
      taken,
    });
    if (!address) break;
    const owners = (await prober.probe(address, link.name, { stopAtFirst: true })).filter((o) => o.mac !== link.mac.toLowerCase());
    if (owners.length === 0) return address;
    taken.add(address);
  }
  throw new ClusterLabError(
    'NODE_ADDRESS_NONE_FREE',
    `no free node address in the DHCP range ${config.dhcp.rangeStart}-${config.dhcp.rangeEnd}${taken.size ? ` (other hosts answered for ${[...taken].join(', ')})` : ''}`,
    { hint: 'widen dhcp.rangeStart/rangeEnd, or find the hosts holding addresses without a lease', errorClass: 'config' },
  );
}

/**
 * Leader: puts this node's own node address on the cluster link — the address Consul binds and
 * Swarm advertises, which stays with the node whoever holds the leader address. An address of
 * the subnet already on the link (a repeated start) is kept. Otherwise the one the election
 * prepared ({@link prepareNodeAddress}), or one chosen now.
 */
export async function assignNodeAddress(ctx: ServiceContext, link: LinkInfo, election: ElectionOutcome): Promise<NodeAddressOutcome> {
  const { node } = ctx;
  const { network, prefix } = node;
  const held = await heldNodeAddress(node, link.name);
  if (held) return { ip: held, cidr: `${held}/${prefix}`, added: false };
  const ip = await (election.nodeAddress ?? prepareNodeAddress(node, link, ctx.signal));
  const cidr = `${ip}/${prefix}`;
  await network.addAddress(link.name, cidr);
  await putLeaderAddressLast(node, link.name, cidr);
  return { ip, cidr, added: true };
}

/**
 * The election claimed the leader address before the node address existed, so it is the link's
 * primary address of the subnet — the source the kernel picks for everything this node sends
 * there, Swarm's overlay (VXLAN) replies included, which the peers then drop (they know this
 * node by its node address): a service on the leader was unreachable from the other nodes.
 * Re-adding the leader address after the node address makes the node address primary. Runs
 * before DHCP and Consul use the leader address; the gap is one netlink round trip.
 */
async function putLeaderAddressLast(node: NodeFacts, link: string, nodeCidr: string): Promise<void> {
  const { network, leaderCidr } = node;
  const inSubnet = (await network.listAddresses(link)).filter((a) => a.family === 'inet' && (a.cidr === leaderCidr || a.cidr === nodeCidr));
  if (inSubnet[0]?.cidr !== leaderCidr) return;
  await network.delAddress(link, leaderCidr);
  // Without promote_secondaries the kernel drops the secondaries with the primary: put it back.
  await network.addAddress(link, nodeCidr);
  await network.addAddress(link, leaderCidr);
}

/** An address of the cluster subnet already on the link, other than the leader address (a repeated start). */
async function heldNodeAddress(node: NodeFacts, link: string): Promise<string | undefined> {
  const { network, config } = node;
  return (await network.listAddresses(link)).find(
    (a) => a.family === 'inet' && a.local !== config.leaderAddress && cidrContains(config.subnet, a.local),
  )?.local;
}

/** Removes the node address {@link assignNodeAddress} added; nothing to do when the link is gone. */
export async function releaseNodeAddress(ctx: ServiceContext, link: string, cidr: string): Promise<void> {
  const { network } = ctx.node;
  if (await network.getLink(link)) await network.delAddress(link, cidr);
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}
