import type { CommandRunner, EventSink, Network } from '@cluster-lab/core';
import type { AddressProber } from './address-prober.js';
import { ArpingProber } from './arping-prober.js';
import type { ElectionSecurity } from './election-codec.js';
import type { ElectionTransport } from './election-transport.js';
import { UdpElectionTransport } from './udp-election-transport.js';

/** Options of {@link createRealElectionDeps}. */
export interface RealElectionDepsOptions {
  /** Runs `arping` in the node's network namespace. */
  runner: CommandRunner;
  /** Adds/removes the temporary link-local address in the node's network namespace. */
  network: Network;
  /** UDP port of the candidacy exchange; default `ELECTION_UDP_PORT`. */
  port?: number;
  /** Message authentication: the election key from the cluster secret, or open (default). */
  security?: ElectionSecurity;
  onEvent?: EventSink;
}

/** The real transport and prober for {@link electLeader} and {@link watchLeadership}. */
export interface RealElectionDeps {
  transport: ElectionTransport;
  prober: AddressProber;
}

/**
 * Builds the real election dependencies: UDP broadcast candidacy over a temporary link-local
 * address ({@link UdpElectionTransport}) and ARP through `arping` ({@link ArpingProber}).
 * The calling process must run in the node's network namespace (it opens UDP sockets).
 *
 * @example
 * ```ts
 * const runner = new ExecaRunner();
 * const network = new IpRoute2(runner);
 * const result = await electLeader({ ...config, network, ...createRealElectionDeps({ runner, network }) });
 * ```
 */
export function createRealElectionDeps(options: RealElectionDepsOptions): RealElectionDeps {
  const transportOptions = {
    network: options.network,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.security ? { security: options.security } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  };
  return {
    transport: new UdpElectionTransport(transportOptions),
    prober: new ArpingProber({ runner: options.runner }),
  };
}
