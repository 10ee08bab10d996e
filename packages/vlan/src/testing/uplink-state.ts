import type { Network } from '@cluster-lab/core';

/** Addresses and routes of one interface, sorted, for before == after assertions. */
export interface UplinkState {
  addresses: string[];
  routes: string[];
}

/** Snapshots the uplink's addresses (all families) and the routes through it. */
export async function uplinkState(network: Network, uplink: string): Promise<UplinkState> {
  const addresses = (await network.listAddresses(uplink)).map((a) => `${a.cidr} ${a.scope}`).sort();
  const routes = (await network.routes())
    .filter((r) => r.dev === uplink)
    .map((r) => JSON.stringify(r))
    .sort();
  return { addresses, routes };
}
