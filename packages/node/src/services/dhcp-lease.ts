import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterLabError, type EventSink } from '@cluster-lab/core';
import { createDhcpClient, type DhcpClient } from '@cluster-lab/dhcp';
import { ARP_PROBE_DEADLINE_MS } from '@cluster-lab/election';
import type { NodeFacts } from '../node-facts.js';
import type { ElectionOutcome, LeaseOutcome, LinkInfo, ServiceContext } from '../node-services.js';

/**
 * A follower that has just lost the election waits this long before its first DHCP DISCOVER.
 * It sees the winner's claim over ARP at once, but the winner serves only after verifying the
 * claim (one more ARP probe, {@link ARP_PROBE_DEADLINE_MS}) and starting dnsmasq (~50 ms here,
 * more on a Pi); a DISCOVER sent before that is only retried after udhcpc's 1 s timeout.
 * Measured on a 3-node lab: 250 ms always missed (lease step 1.5–1.8 s), this hits.
 */
export const FIRST_DISCOVER_DELAY_MS = ARP_PROBE_DEADLINE_MS + 250;

/**
 * This node's DHCP client on `link` (the configured one, or the first installed with `auto`). It
 * applies only leases from the leader: the leader address, or a server id in `allowedServerIds`
 * (the authenticated leader's node address, when the election names one); refused leases are
 * logged to `events` and counted for `health`.
 */
export function nodeDhcpClient(
  node: NodeFacts,
  link: string,
  options: { allowedServerIds?: readonly string[]; events?: EventSink } = {},
): Promise<DhcpClient> {
  const { runner, network, config, hostname } = node;
  return createDhcpClient({ runner, network, config, link, hostname, ...options });
}

/**
 * Follower: leases an address from the leader and starts the background renewal. A lease
 * already on the link (a second start) is kept. After a contested election (other candidates
 * were heard: the winner is only now starting its DHCP server) the first DISCOVER waits
 * {@link FIRST_DISCOVER_DELAY_MS}.
 */
export async function obtainLease(ctx: ServiceContext, link: LinkInfo, election: ElectionOutcome): Promise<LeaseOutcome> {
  const client = await nodeDhcpClient(ctx.node, link.name, { events: ctx.onEvent });
  const previous = await client.current();
  const onLink = previous && (await ctx.node.network.listAddresses(link.name)).some((a) => a.cidr === previous.cidr);
  if (!onLink) {
    if (election.candidates > 1) await sleep(FIRST_DISCOVER_DELAY_MS);
    await client.obtain({ signal: ctx.signal });
  }
  const renewal = await client.startRenewal();
  const applied = await client.current();
  if (!applied)
    throw new ClusterLabError('DHCP_LEASE_LOST', `the lease on ${link.name} vanished right after it was applied`, {
      hint: 'run start again',
    });
  return {
    cidr: applied.cidr,
    ip: applied.lease.ip,
    serverId: applied.lease.serverId,
    added: !onLink && applied.added,
    renewalPidFile: renewal.pidFile,
  };
}

/** Releases the lease, stops its renewal and removes the address {@link obtainLease} added. */
export async function releaseLease(ctx: ServiceContext, link: string): Promise<void> {
  await (await nodeDhcpClient(ctx.node, link)).release();
}
