import { rm, rmdir } from 'node:fs/promises';
import { ClusterLabError, type EventSink, Journal, StepRunner } from '@cluster-lab/core';
import type { NodeFacts } from '../node-facts.js';
import type { NodeServices } from '../node-services.js';
import { serviceContext } from './service-context.js';
import { undoHandlers } from './undo-handlers.js';

/** Options for {@link stopNode}. */
export interface StopNodeOptions {
  services: NodeServices;
  onEvent?: EventSink;
  /** Also delete state kept across restarts on purpose: the DHCP lease database, `cluster.json` and the daemons' logs. */
  purge?: boolean;
  /**
   * Every node of the cluster is stopping at once (`cluster-lab lab down`, the whole cluster
   * powered off): leave Swarm and Consul without the graceful steps that protect the nodes that
   * stay (demotions, Raft removal) — nobody stays. Wrong for a node stopping alone.
   */
  clusterDown?: boolean;
}

/** What {@link stopNode} did. */
export interface StopNodeResult {
  /** False when nothing was running (no journal). */
  wasRunning: boolean;
  /** Number of changes undone. */
  undone: number;
}

/** What {@link forceStopNode} did. */
export interface ForceStopNodeResult {
  /** What was found and removed (supervisor, swarm membership, daemons, addresses, link; purged files). */
  removed: string[];
}

/**
 * Undoes exactly what `startNode` did, newest change first, by replaying the journal:
 * Swarm leave, Consul stop, DHCP release/stop, leader address removal, link teardown. Safe to
 * repeat. Throws when some change could not be undone (the journal keeps it for a retry).
 *
 * @example
 * ```ts
 * await stopNode(nodeFacts(config), { services: createNodeServices() });
 * ```
 */
export async function stopNode(node: NodeFacts, options: StopNodeOptions): Promise<StopNodeResult> {
  const ctx = serviceContext(node, {
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.clusterDown ? { clusterDown: true } : {}),
  });
  const journal = await Journal.open(node.paths.journal);
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
  await rmdir(node.paths.stateDir).catch(() => {});
  return { wasRunning: true, undone: total };
}

/**
 * `stop --force`: when the journal is missing or corrupt, removes by inspection whatever of
 * Cluster Lab runs on this node (`services.forceCleanup`), then the journal itself.
 */
export async function forceStopNode(node: NodeFacts, options: StopNodeOptions): Promise<ForceStopNodeResult> {
  // No steps here: what the packages report goes out as is (one line per thing found).
  const ctx = { node, signal: new AbortController().signal, onEvent: options.onEvent ?? (() => {}) };
  const removed = await options.services.forceCleanup(ctx);
  await rm(node.paths.journal, { force: true });
  if (options.purge) removed.push(...(await options.services.purgeState(ctx)));
  return { removed };
}
