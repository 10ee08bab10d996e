import { loadNodeFacts, superviseNode } from '@cluster-lab/node';
import type { Command } from 'commander';
import { type GlobalFlags, loadEffectiveConfig, makeOutput } from './context.js';

/**
 * `cluster-lab supervise` (started by `start`, not by users): runs `superviseNode` — leadership
 * (heartbeats, failover, yielding without a restart), lease-table mirror, swarm reconcile,
 * membership upkeep — until SIGTERM (`stop`) or SIGINT.
 */
export async function run(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags>();
  const out = makeOutput({ ...flags, verbose: true });
  const { config } = await loadEffectiveConfig(flags, out);
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  await superviseNode(await loadNodeFacts(config), {
    signal: stop.signal,
    log: (message) => out.line(`${new Date().toISOString()} ${message}`),
  });
}
