import { loadNodeFacts, startNode, stopNode } from '@cluster-lab/node';
import type { Command } from 'commander';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput, requireRoot, withNodeLock } from './context.js';
import { cliNodeServices } from './node-view.js';

/** `cluster-lab restart` (hidden): stop exactly what start did, then run the boot flow again. */
export async function run(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags>();
  const out = makeOutput(flags);
  const { config } = await loadEffectiveConfig(flags, out);
  requireRoot('restart');
  const node = await loadNodeFacts(config);
  const services = cliNodeServices();
  // One lock for both halves: no other run can slip in between the stop and the start.
  const result = await withNodeLock(config, 'restart', out, async () => {
    await stopNode(node, { services, onEvent: out.event });
    return startNode(node, { services, onEvent: out.event });
  });
  if (out.options.json) out.json({ type: 'result', ok: true, ...result });
  else out.line(`restarted: ${result.role} ${result.address} on ${result.link}`);
}
