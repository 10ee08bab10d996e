import { listenOnClusterLink, nodeFacts, probeClusterLink } from '@cluster-lab/node';
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
  const node = nodeFacts(config);
  if (flags.listen) {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    await listenOnClusterLink(node, {
      signal: stop.signal,
      onListening: ({ address, link, backend }) => {
        if (out.options.json) out.json({ type: 'probe-listening', address, link, backend });
        else out.line(`listening on ${address} (${link}, ${backend}): run \`cluster-lab probe\` on another node; Ctrl-C here when done`);
      },
    });
    return;
  }
  const result = await probeClusterLink(node);
  if (out.options.json) out.json({ type: 'probe', ...result });
  else {
    out.check({
      id: 'probe',
      title: `peer ${result.to} over ${result.link} (${node.backend.kind})`,
      status: result.reachable ? 'PASS' : 'FAIL',
      detail: result.detail,
      durationMs: result.durationMs,
      ...(result.hint ? { hint: result.hint } : {}),
    });
  }
  if (!result.reachable) process.exitCode = 1;
}
