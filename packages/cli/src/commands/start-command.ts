import { loadNodeFacts, startNode } from '@cluster-lab/node';
import type { Command } from 'commander';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput, requireRoot, withNodeLock } from './context.js';
import { cliNodeServices } from './node-view.js';

/** `cluster-lab start`: the boot flow on this machine. */
export async function run(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags>();
  const out = makeOutput(flags);
  const { config } = await loadEffectiveConfig(flags, out);
  requireRoot('start');

  // First Ctrl-C/SIGTERM: stop between steps and roll back. Further signals are ignored until
  // the rollback is done, so an impatient second Ctrl-C cannot strand half the changes.
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) out.warn(`${signal} received: stopping and rolling back`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await withNodeLock(
      config,
      'start',
      out,
      async () => startNode(await loadNodeFacts(config), { services: cliNodeServices(), signal: controller.signal, onEvent: out.event }),
      { signal: controller.signal },
    );
    if (out.options.json) {
      out.json({ type: 'result', ok: true, ...result });
    } else if (result.alreadyRunning) {
      out.line(`already running: ${result.role} ${result.address} on ${result.link} — nothing changed`);
    } else {
      out.line(
        `${out.paint('green', 'ready')} in ${(result.durationMs / 1000).toFixed(2)} s: ${result.role} ${result.address} on ${result.link}` +
          `${result.role === 'leader' ? ` (holds ${result.leaderAddress})` : ''}` +
          `${result.consulServer === undefined ? '' : `, Consul ${result.consulServer ? 'server' : 'client'}`}` +
          `${result.swarmRole ? `, Swarm ${result.swarmRole}` : ''}`,
      );
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
