import { ConsulClient, ConsulStore } from '@cluster-lab/consul';
import { startReconciler } from '@cluster-lab/swarm';
import type { Command } from 'commander';
import Dockerode from 'dockerode';
import { type GlobalFlags, loadEffectiveConfig, makeOutput } from './context.js';

/**
 * `cluster-lab supervise` (started by `start`, not by users): keeps the swarm reconciled —
 * labels for joiners, stale node entries removed, the manager count kept — for as long as the
 * node is up. Exits cleanly on SIGTERM (sent by `stop`).
 */
export async function run(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags>();
  const out = makeOutput({ ...flags, verbose: true });
  const { config } = await loadEffectiveConfig(flags, out);
  const token = config.consul.aclToken;
  const client = new ConsulClient({ address: `127.0.0.1:${config.consul.httpPort}`, ...(token ? { token } : {}) });
  const docker = new Dockerode({ socketPath: config.docker.socket });
  const log = (message: string) => out.line(`${new Date().toISOString()} ${message}`);
  log(`supervising ${config.hostname ?? 'this node'}: swarm reconcile loop`);
  const reconciler = startReconciler({
    docker,
    store: new ConsulStore(client),
    managers: config.swarm.managers,
    onEvent: (e) => {
      if (e.type === 'log') log(`[${e.source ?? 'swarm'}] ${e.message}`);
    },
    onRound: (r) => {
      const did = [
        r.labelled.length ? `labelled ${r.labelled.join(',')}` : '',
        r.removed.length ? `removed stale ${r.removed.map((n) => n.hostname).join(',')}` : '',
        r.promoted.length ? `promoted ${r.promoted.join(',')}` : '',
        r.demoted.length ? `demoted ${r.demoted.join(',')}` : '',
      ].filter(Boolean);
      if (did.length) log(did.join('; '));
    },
  });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  log('stopping');
  await reconciler.stop();
  client.close();
}
