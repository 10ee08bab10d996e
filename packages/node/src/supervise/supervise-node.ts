import { ConsulStore } from '@cluster-lab/consul';
import { ArpingProber, watchLeadership } from '@cluster-lab/election';
import { startReconciler } from '@cluster-lab/swarm';
import { readJournalView } from '../journal-view.js';
import type { NodeFacts } from '../node-facts.js';

/** Options of {@link superviseNode}. */
export interface SuperviseNodeOptions {
  /**
   * Arguments for `process.execPath` that restart this node — stop what start did, then run the
   * boot flow again — started detached when the node yields leadership. The CLI passes
   * `cliArgv(['restart', '--config', file])`.
   */
  restartArgv: readonly string[];
  /** Ends the supervision (the CLI aborts it on SIGTERM from `stop`, and on SIGINT). */
  signal: AbortSignal;
  /** One line per thing the supervisor did; default none. */
  log?: (message: string) => void;
}

/**
 * The supervisor loop of a started node (the `cluster-lab supervise` process that `start`
 * leaves running): keeps the swarm reconciled — labels for joiners, stale node entries removed,
 * the manager count kept — for as long as the node is up. On the leader it also watches the
 * leader address: when another node turns out to hold it too and outranks this one (a healed
 * network partition), this node yields — the address is dropped at once, and the detached
 * `restartArgv` stops the leader services and runs the boot flow again, which makes this node a
 * follower. Resolves when `signal` aborts and everything has stopped.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * process.once('SIGTERM', () => stop.abort());
 * await superviseNode(nodeFacts(config), { restartArgv: [myScript, 'restart'], signal: stop.signal, log: console.log });
 * ```
 */
export async function superviseNode(node: NodeFacts, options: SuperviseNodeOptions): Promise<void> {
  const { config, runner, network } = node;
  const log = options.log ?? (() => {});
  const client = node.localConsul();
  log(`supervising ${config.hostname ?? 'this node'}: swarm reconcile loop`);
  const reconciler = startReconciler({
    docker: node.docker,
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
  const started = (await readJournalView(node))?.facts as { role?: string; link?: string } | undefined;
  const watch =
    started?.role === 'leader' && started.link
      ? watchLeadership({
          link: started.link,
          mac: (await network.requireLink(started.link)).mac,
          priority: config.priority,
          leaderAddress: config.leaderAddress,
          prefix: node.prefix,
          network,
          prober: new ArpingProber({ runner }),
          onEvent: (e) => {
            if (e.type === 'log' && e.level !== 'debug') log(`[election] ${e.message}`);
          },
        })
      : undefined;
  if (watch) log(`watching leadership of ${config.leaderAddress} on ${started?.link}`);
  void watch?.done.then(async (loss) => {
    if (!loss || options.signal.aborted) return;
    log(`yielding leadership: ${loss.message}; restarting the node as a follower`);
    await runner.spawn(process.execPath, [...options.restartArgv], { detached: true, logFile: node.paths.supervisor.logFile });
  });
  if (!options.signal.aborted)
    await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  log('stopping');
  await Promise.all([reconciler.stop(), watch?.stop()]);
  client.close();
}
