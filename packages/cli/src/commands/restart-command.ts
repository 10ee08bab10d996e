import type { Command } from 'commander';
import { createNodeServices } from '../boot/real-node-services.js';
import { startNode } from '../boot/start-node.js';
import { stopNode } from '../boot/stop-node.js';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput, requireRoot } from './context.js';

/** `cluster-lab restart` (hidden): stop exactly what start did, then run the boot flow again. */
export async function run(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags>();
  const out = makeOutput(flags);
  const { config } = await loadEffectiveConfig(flags, out);
  requireRoot('restart');
  const services = await createNodeServices(config);
  await stopNode(config, { services, onEvent: out.event });
  const result = await startNode(config, { services: await createNodeServices(config), onEvent: out.event });
  if (out.options.json) out.json({ type: 'result', ok: true, ...result });
  else out.line(`restarted: ${result.role} ${result.address} on ${result.link}`);
}
