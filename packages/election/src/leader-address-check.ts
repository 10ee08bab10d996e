import { type Check, type CheckResult, fail, type Network, pass } from '@cluster-lab/core';
import type { AddressProber } from './address-prober.js';
import { normaliseMac } from './candidate.js';

/** Options of {@link leaderAddressCheck}. */
export interface LeaderAddressCheckOptions {
  link: string;
  /** This node's MAC on `link`. */
  mac: string;
  leaderAddress: string;
  network: Network;
  prober: AddressProber;
}

/**
 * A health {@link Check} (`cluster-lab health`): exactly one host answers for the leader address.
 * PASS names the holder (this node or another MAC); FAIL when nobody holds it (no leader) or when
 * two hosts do (split brain — run {@link watchLeadership} or restart the lower-ranked one).
 *
 * @example
 * ```ts
 * const report = await runChecks([leaderAddressCheck({ link: 'eth0.200', mac, leaderAddress: '192.168.200.1', network, prober })]);
 * ```
 */
export function leaderAddressCheck(options: LeaderAddressCheckOptions): Check {
  const mac = normaliseMac(options.mac);
  return {
    id: 'leader-address',
    title: `one holder of the leader address ${options.leaderAddress}`,
    run: async (): Promise<CheckResult> => {
      const here = (await options.network.listAddresses(options.link)).some((a) => a.local === options.leaderAddress);
      const others = (await options.prober.probe(options.leaderAddress, options.link)).map((o) => o.mac).filter((m) => m !== mac);
      const holders = [...(here ? [`this node (${mac})`] : []), ...others];
      if (holders.length === 1) return pass(`held by ${holders[0]}`);
      if (holders.length === 0) {
        return fail(
          `nobody answers for ${options.leaderAddress} on ${options.link}: there is no leader`,
          'check the leader node (`cluster-lab status` there) or restart `cluster-lab start` on one node',
        );
      }
      return fail(
        `${options.leaderAddress} is held by ${holders.length} hosts (${holders.join(', ')}): split brain`,
        'stop `cluster-lab` on all but the intended leader, or let `watchLeadership` make the lower-ranked leader yield',
      );
    },
  };
}
