import { type DnsmasqServer, dnsmasqServer, type Reservation, RogueDhcpServerError } from '@cluster-lab/dhcp';
import type { NodeFacts } from '../node-facts.js';
import type { DaemonRef, ElectionOutcome, LinkInfo, ServiceContext } from '../node-services.js';

/** This node's dnsmasq on `link`, never on the uplink. */
export function nodeDnsmasq(node: NodeFacts, link: string, reservations?: readonly Reservation[]): DnsmasqServer {
  const { runner, network, config, uplink } = node;
  return dnsmasqServer({ runner, network, config, link, ...(uplink ? { uplink } : {}), ...(reservations ? { reservations } : {}) });
}

/**
 * Leader: serves DHCP on the cluster link only, with `reservations` (its own node address, those
 * of the replicated lease table) never handed to another client. Refuses
 * (`RogueDhcpServerError`) when the election's probe heard another DHCP server there; without
 * that probe, dnsmasq probes itself. {@link takeLeaderDuties} is the usual way in.
 */
export async function startDhcpServer(
  ctx: ServiceContext,
  link: LinkInfo,
  election: Pick<ElectionOutcome, 'dhcpProbe'>,
  reservations: readonly Reservation[] = [],
): Promise<DaemonRef> {
  const answer = election.dhcpProbe ? await election.dhcpProbe : undefined;
  if (answer) throw new RogueDhcpServerError(link.name, answer.serverId);
  const { runner, network, config, uplink } = ctx.node;
  const handle = await dnsmasqServer({
    runner,
    network,
    config,
    link: link.name,
    probe: election.dhcpProbe === undefined,
    reservations,
    ...(uplink ? { uplink } : {}),
  }).start();
  return { pidFile: handle.pidFile, started: handle.started, link: link.name };
}

/** Stops the DHCP server {@link startDhcpServer} started; its lease database stays. */
export async function stopDhcpServer(ctx: ServiceContext, ref: DaemonRef): Promise<void> {
  await nodeDnsmasq(ctx.node, String(ref.link)).stop();
}
