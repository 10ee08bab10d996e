import { forceStopNode, loadNodeFacts, stopNode } from '@cluster-lab/node';
import type { Command } from 'commander';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput, requireRoot, withNodeLock } from './context.js';
import { cliNodeServices } from './node-view.js';

/** `cluster-lab stop [--force] [--purge] [--cluster-down]`: undo exactly what start did. */
export async function run(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags & { force?: boolean; purge?: boolean; clusterDown?: boolean }>();
  const out = makeOutput(flags);
  const { config } = await loadEffectiveConfig(flags, out);
  requireRoot('stop');
  const node = await loadNodeFacts(config);
  const options = { services: cliNodeServices(), onEvent: out.event, purge: Boolean(flags.purge), clusterDown: Boolean(flags.clusterDown) };
  if (flags.force) {
    const { removed } = await withNodeLock(config, 'stop --force', out, () => forceStopNode(node, options));
    if (out.options.json) out.json({ type: 'result', ok: true, forced: true, removed });
    else out.line(removed.length ? `force-stopped: removed ${removed.join(', ')}` : 'nothing of Cluster Lab found on this machine');
    return;
  }
  const result = await withNodeLock(config, 'stop', out, () => stopNode(node, options));
  if (out.options.json) out.json({ type: 'result', ok: true, ...result });
  else if (!result.wasRunning) out.line('not running: nothing to stop');
  else out.line(`stopped: undid ${result.undone} change(s)`);
}
