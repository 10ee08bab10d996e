import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { createNodeServices } from '../boot/real-node-services.js';
import { journalPath } from '../boot/start-node.js';
import { stopNode } from '../boot/stop-node.js';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput, requireRoot } from './context.js';

/** `cluster-lab stop [--force] [--purge]`: undo exactly what start did. */
export async function run(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags & { force?: boolean; purge?: boolean }>();
  const out = makeOutput(flags);
  const { config } = await loadEffectiveConfig(flags, out);
  requireRoot('stop');
  const services = await createNodeServices(config);
  if (flags.force) {
    const ctx = { config, hostname: config.hostname ?? hostname(), signal: new AbortController().signal, onEvent: out.event };
    const removed = await services.forceCleanup(ctx);
    await rm(journalPath(config), { force: true });
    if (flags.purge) removed.push(...(await services.purgeState(ctx)));
    if (out.options.json) out.json({ type: 'result', ok: true, forced: true, removed });
    else out.line(removed.length ? `force-stopped: removed ${removed.join(', ')}` : 'nothing of Cluster Lab found on this machine');
    return;
  }
  const result = await stopNode(config, { services, onEvent: out.event, purge: Boolean(flags.purge) });
  if (out.options.json) out.json({ type: 'result', ok: true, ...result });
  else if (!result.wasRunning) out.line('not running: nothing to stop');
  else out.line(`stopped: undid ${result.undone} change(s)`);
}
