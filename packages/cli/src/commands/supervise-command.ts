import { loadNodeFacts, superviseNode } from '@cluster-lab/node';
import type { Command } from 'commander';
import { cliArgv } from '../lab/run-in-nodes.js';
import { type GlobalFlags, loadEffectiveConfig, makeOutput } from './context.js';

/**
 * `cluster-lab supervise` (started by `start`, not by users): runs `superviseNode` — swarm
 * reconcile loop, and on the leader the leadership watch — until SIGTERM (`stop`) or SIGINT.
 * When the leader yields, it restarts the node with a detached `cluster-lab restart`.
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
    restartArgv: cliArgv(['restart', ...(flags.config ? ['--config', flags.config] : [])]),
    signal: stop.signal,
    log: (message) => out.line(`${new Date().toISOString()} ${message}`),
  });
}
