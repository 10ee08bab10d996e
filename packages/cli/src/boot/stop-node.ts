import { rmdir } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { type ClusterConfig, ClusterLabError, type EventSink, Journal, StepRunner } from '@cluster-lab/core';
import type { NodeServices, ServiceContext } from './node-services.js';
import { journalPath, nestedEvents } from './start-node.js';
import { undoHandlers } from './undo-handlers.js';

/** Options for {@link stopNode}. */
export interface StopNodeOptions {
  services: NodeServices;
  onEvent?: EventSink;
  hostname?: string;
  /** Also delete state kept across restarts on purpose (DHCP leases). */
  purge?: boolean;
}

/** What {@link stopNode} did. */
export interface StopNodeResult {
  /** False when nothing was running (no journal). */
  wasRunning: boolean;
  /** Number of changes undone. */
  undone: number;
}

/**
 * Undoes exactly what {@link startNode} did, newest change first, by replaying the journal:
 * Swarm leave, Consul stop, DHCP release/stop, leader address removal, link teardown. Safe to
 * repeat. Throws when some change could not be undone (the journal keeps it for a retry).
 *
 * @example
 * ```ts
 * await stopNode(config, { services: await createNodeServices(config) });
 * ```
 */
export async function stopNode(config: ClusterConfig, options: StopNodeOptions): Promise<StopNodeResult> {
  const ctx: ServiceContext = {
    config,
    hostname: options.hostname ?? config.hostname ?? osHostname(),
    signal: new AbortController().signal,
    onEvent: nestedEvents(options.onEvent ?? (() => {})),
  };
  const journal = await Journal.open(journalPath(config));
  if (!journal.exists) {
    if (options.purge) await options.services.purgeState(ctx);
    return { wasRunning: false, undone: 0 };
  }
  const total = journal.entries.length;
  await journal.setStatus('stopping');
  const steps = new StepRunner({ journal, undo: undoHandlers(options.services, ctx), onEvent: ctx.onEvent });
  const { failed } = await steps.rollback('stop');
  if (failed.length > 0) {
    await journal.setStatus('failed');
    throw new ClusterLabError(
      'STOP_INCOMPLETE',
      `${failed.length} of ${total} change(s) could not be undone: ${failed.map((f) => `${f.kind} ${f.key}`).join(', ')}`,
      {
        hint: 'fix the reported problem and run `cluster-lab stop` again, or `cluster-lab stop --force`',
      },
    );
  }
  await journal.delete();
  if (options.purge) await options.services.purgeState(ctx);
  // The state dir itself, if start created it and nothing is kept in it (leases are, on a leader).
  await rmdir(config.stateDir).catch(() => {});
  return { wasRunning: true, undone: total };
}
