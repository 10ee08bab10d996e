import { Journal, type JournalStatus } from '@cluster-lab/core';
import type { NodeFacts } from './node-facts.js';

/** The journal as the read-only views (health, status, the supervisor) see it. */
export interface JournalView {
  status: JournalStatus;
  /** What `startNode` recorded: role, address, link, hostname, swarmRole. */
  facts: Readonly<Record<string, unknown>>;
}

/** What `startNode` left in the journal; undefined when the node was never started (or was stopped). */
export async function readJournalView(node: NodeFacts): Promise<JournalView | undefined> {
  const journal = await Journal.open(node.paths.journal);
  return journal.exists ? { status: journal.status, facts: journal.facts } : undefined;
}
