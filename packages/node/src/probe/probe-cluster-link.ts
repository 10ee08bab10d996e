import { addProbeAddress, DEFAULT_PROBE_ADDRESSES, type ProbeResult, probeLink } from '@cluster-lab/vlan';
import type { NodeFacts } from '../node-facts.js';

/** Options of {@link listenOnClusterLink}. */
export interface ListenOnClusterLinkOptions {
  /** Ends the listening (Ctrl-C in the CLI). */
  signal: AbortSignal;
  /** Called once the test address is on the link: tell the user to run the probe on the other machine. */
  onListening?: (listening: { address: string; link: string; backend: string }) => void;
}

/**
 * Does the switch carry the cluster link? — the listening half, on one machine. Builds the
 * cluster link from the config (if `start` has not), puts the test address
 * {@link DEFAULT_PROBE_ADDRESSES}.listen (198.18.200.0/24, reserved for network tests) on it and
 * waits until `signal` aborts; then removes exactly what it added (a link `start` created stays).
 */
export async function listenOnClusterLink(node: NodeFacts, options: ListenOnClusterLinkOptions): Promise<void> {
  const { backend, network } = node;
  const ensured = await backend.ensure();
  const link = ensured.link.name;
  try {
    await using probe = await addProbeAddress({ network, link }, DEFAULT_PROBE_ADDRESSES.listen);
    options.onListening?.({ address: probe.address, link, backend: backend.kind });
    await new Promise<void>((resolve) => {
      if (options.signal.aborted) return resolve();
      // An abort listener alone does not keep the event loop alive.
      const keepAlive = setInterval(() => {}, 60_000);
      options.signal.addEventListener(
        'abort',
        () => {
          clearInterval(keepAlive);
          resolve();
        },
        { once: true },
      );
    });
  } finally {
    await backend.teardown({ created: ensured.created, broughtUp: ensured.broughtUp });
  }
}

/**
 * Does the switch carry the cluster link? — the probing half, on the other machine: builds the
 * cluster link, pings the listener's test address over it from a test address of its own, and
 * removes exactly what it added. The result names a hint for the backend in use when the peer
 * does not answer.
 */
export async function probeClusterLink(node: NodeFacts): Promise<ProbeResult> {
  const { backend, network, runner } = node;
  const ensured = await backend.ensure();
  try {
    const peer = DEFAULT_PROBE_ADDRESSES.listen.split('/')[0] as string;
    return await probeLink({ local: { network, runner, link: ensured.link.name }, peer: { address: peer }, backend });
  } finally {
    await backend.teardown({ created: ensured.created, broughtUp: ensured.broughtUp });
  }
}
