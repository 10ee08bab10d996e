// Kept apart from context.ts: loading @cluster-lab/node (Docker, Consul clients) is for the
// commands that act on the node, not for `config check`.
import { createNodeServices, type JournalView, loadNodeFacts, type NodeFacts, type NodeServices, readJournalView } from '@cluster-lab/node';
import type { Command } from 'commander';
import { cliArgv } from '../lab/run-in-nodes.js';
import type { Output } from '../output/output.js';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput } from './context.js';

/** The real node services, with this CLI as the supervisor (`cluster-lab supervise`). */
export function cliNodeServices(): NodeServices {
  return createNodeServices({ supervisor: { argv: (file) => cliArgv(['supervise', '--config', file]) } });
}

/** What the read-only commands (`status`, `health`) look at: this node as `start` left it. */
export interface NodeView {
  out: Output;
  node: NodeFacts;
  /** The journal's status and facts; undefined when the node was never started (or stopped). */
  journal: JournalView | undefined;
}

/** Loads config, output, the node and its journal for a read-only command. */
export async function loadNodeView(cmd: Command): Promise<NodeView> {
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags>();
  const out = makeOutput(flags);
  const { config } = await loadEffectiveConfig(flags, out);
  const node = await loadNodeFacts(config);
  return { out, node, journal: await readJournalView(node) };
}
