import { ConsulClient, ConsulStore } from '@cluster-lab/consul';
import { ExecaRunner, IpRoute2, Journal, subnetPrefix } from '@cluster-lab/core';
import { ArpingProber, watchLeadership } from '@cluster-lab/election';
import { startReconciler } from '@cluster-lab/swarm';
import type { Command } from 'commander';
import Dockerode from 'dockerode';
import { journalPath } from '../boot/start-node.js';
import { supervisorPaths } from '../boot/supervisor.js';
import { cliArgv } from '../lab/run-in-nodes.js';
import { type GlobalFlags, loadEffectiveConfig, makeOutput } from './context.js';

/**
 * `cluster-lab supervise` (started by `start`, not by users): keeps the swarm reconciled —
 * labels for joiners, stale node entries removed, the manager count kept — for as long as the
 * node is up. On the leader it also watches the leader address: when another node turns out to
 * hold it too and outranks this one (a healed network partition), this node yields — the
 * address is dropped at once, and a detached `cluster-lab restart` stops the leader services
 * and runs the boot flow again, which makes this node a follower. Exits on SIGTERM (`stop`).
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
  const journal = await Journal.open(journalPath(config));
  const facts = journal.facts as { role?: string; link?: string };
  const runner = new ExecaRunner();
  const network = new IpRoute2(runner);
  const watch =
    facts.role === 'leader' && facts.link
      ? watchLeadership({
          link: facts.link,
          mac: (await network.requireLink(facts.link)).mac,
          priority: config.priority,
          leaderAddress: config.leaderAddress,
          prefix: subnetPrefix(config),
          network,
          prober: new ArpingProber({ runner }),
          onEvent: (e) => {
            if (e.type === 'log' && e.level !== 'debug') log(`[election] ${e.message}`);
          },
        })
      : undefined;
  if (watch) log(`watching leadership of ${config.leaderAddress} on ${facts.link}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
    void watch?.done.then(async (loss) => {
      if (!loss) return;
      log(`yielding leadership: ${loss.message}; restarting the node as a follower`);
      await runner.spawn(process.execPath, cliArgv(['restart', ...(flags.config ? ['--config', flags.config] : [])]), {
        detached: true,
        logFile: supervisorPaths(config).logFile,
      });
    });
  });
  log('stopping');
  await Promise.all([reconciler.stop(), watch?.stop()]);
  client.close();
}
