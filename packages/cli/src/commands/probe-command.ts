import { ExecaRunner, IpRoute2 } from '@cluster-lab/core';
import { addProbeAddress, createBackend, DEFAULT_PROBE_ADDRESSES, probeLink } from '@cluster-lab/vlan';
import type { Command } from 'commander';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput, requireRoot } from './context.js';

/**
 * `cluster-lab probe [--listen]`: does the switch carry the cluster link? The original README's
 * manual two-machine VLAN ping test, automated for any backend. One machine listens, the other
 * probes; both build the cluster link from the config, put a temporary test address on it
 * (198.18.200.0/24, reserved for network tests) and remove exactly what they added.
 */
export async function run(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags & { listen?: boolean }>();
  const out = makeOutput(flags);
  const { config } = await loadEffectiveConfig(flags, out);
  requireRoot('probe');
  const runner = new ExecaRunner();
  const network = new IpRoute2(runner);
  const backend = createBackend(config, { network, runner });
  const ensured = await backend.ensure();
  const link = ensured.link.name;
  try {
    if (flags.listen) {
      await using probe = await addProbeAddress({ network, link }, DEFAULT_PROBE_ADDRESSES.listen);
      if (out.options.json) out.json({ type: 'probe-listening', address: probe.address, link, backend: backend.kind });
      else
        out.line(
          `listening on ${probe.address} (${link}, ${backend.kind}): run \`cluster-lab probe\` on another node; Ctrl-C here when done`,
        );
      await new Promise<void>((resolve) => {
        // Signal listeners alone do not keep the event loop alive.
        const keepAlive = setInterval(() => {}, 60_000);
        const done = () => {
          clearInterval(keepAlive);
          resolve();
        };
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      return;
    }
    const peer = DEFAULT_PROBE_ADDRESSES.listen.split('/')[0] as string;
    const result = await probeLink({ local: { network, runner, link }, peer: { address: peer }, backend });
    if (out.options.json) out.json({ type: 'probe', ...result });
    else {
      out.check({
        id: 'probe',
        title: `peer ${peer} over ${link} (${backend.kind})`,
        status: result.reachable ? 'PASS' : 'FAIL',
        detail: result.detail,
        durationMs: result.durationMs,
        ...(result.hint ? { hint: result.hint } : {}),
      });
    }
    if (!result.reachable) process.exitCode = 1;
  } finally {
    // Only what this run did: a link `cluster-lab start` already created stays.
    await backend.teardown({ created: ensured.created, broughtUp: ensured.broughtUp });
  }
}
