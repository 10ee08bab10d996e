import { type DnsmasqServer, dnsmasqServer, RogueDhcpServerError } from '@cluster-lab/dhcp';
import type { NodeFacts } from '../node-facts.js';
import type { DaemonRef, ElectionOutcome, LinkInfo, ServiceContext } from '../node-services.js';

/** This node's dnsmasq on `link`, never on the uplink. */
export function nodeDnsmasq(node: NodeFacts, link: string): DnsmasqServer {
  const { runner, network, config, uplink } = node;
  return dnsmasqServer({ runner, network, config, link, ...(uplink ? { uplink } : {}) });
}

/**
 * Leader: serves DHCP on the cluster link only. Refuses (`RogueDhcpServerError`) when the
 * election's probe heard another DHCP server there; without that probe, dnsmasq probes itself.
 */
export async function startDhcpServer(ctx: ServiceContext, link: LinkInfo, election: ElectionOutcome): Promise<DaemonRef> {
  const answer = election.dhcpProbe ? await election.dhcpProbe : undefined;
  if (answer) throw new RogueDhcpServerError(link.name, answer.serverId);
  const { runner, network, config, uplink } = ctx.node;
  const handle = await dnsmasqServer({
    runner,
    network,
    config,
    link: link.name,
    probe: election.dhcpProbe === undefined,
    ...(uplink ? { uplink } : {}),
  }).start();
  return { pidFile: handle.pidFile, started: handle.started, link: link.name };
}

/** Stops the DHCP server {@link startDhcpServer} started; its lease database stays. */
export async function stopDhcpServer(ctx: ServiceContext, ref: DaemonRef): Promise<void> {
  await nodeDnsmasq(ctx.node, String(ref.link)).stop();
}
