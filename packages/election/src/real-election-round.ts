/**
 * The real election between lab nodes, for the integration test and `bench/election-bench.mjs`:
 * each node runs {@link runElectionNode} as its own process inside its namespace, all at once.
 * The nodes come from `@cluster-lab/lab` (`createLab({ lan: false })`: every `eth0` on one
 * bridge, no address). Not part of the public API.
 * @internal
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandRunner, Network } from '@cluster-lab/core';
import type { ElectionRole } from './elect-leader.js';
import type { ElectionNodeReport, ElectionNodeSpec } from './run-election-node.js';

/** What a round needs of a node: a lab node (`LabNode`) fits. */
export interface ElectionRoundNode {
  name: string;
  /** Runs commands inside the node. */
  runner: CommandRunner;
  /** `ip` acting inside the node. */
  ip: Network;
}

/** Options of {@link runRealElectionRound}. */
export interface RealRoundOptions {
  /** Bundled node script from {@link bundleElectionNode}. */
  script: string;
  leaderAddress: string;
  prefix: number;
  /** Start offset per node (ms after a common start time). */
  offsetsMs: number[];
  priorities?: number[];
  roles?: ElectionRole[];
  /** Election key (hex) every node signs and verifies with; absent = open. */
  electionKey?: string;
}

/** Runs the real election on every node at once, each in its own process in its namespace. */
export async function runRealElectionRound(nodes: readonly ElectionRoundNode[], options: RealRoundOptions): Promise<ElectionNodeReport[]> {
  // Leave time for N processes to start and load before the common start time.
  const startAt = Date.now() + 400 + 60 * nodes.length;
  return Promise.all(
    nodes.map(async (node, i) => {
      const spec: ElectionNodeSpec = {
        nodeId: node.name,
        link: 'eth0',
        leaderAddress: options.leaderAddress,
        prefix: options.prefix,
        priority: options.priorities?.[i] ?? 100,
        role: options.roles?.[i] ?? 'auto',
        startAt,
        offsetMs: options.offsetsMs[i] ?? 0,
        ...(options.electionKey ? { electionKey: options.electionKey } : {}),
      };
      const { stdout, stderr } = await node.runner.run(process.execPath, [options.script, JSON.stringify(spec)], {
        reject: false,
        timeoutMs: 30_000,
      });
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(line) as ElectionNodeReport;
      } catch {
        throw new Error(`${node.name}: election process printed no report: ${stderr.trim() || stdout.trim()}`);
      }
    }),
  );
}

/** Names of the nodes whose eth0 holds `address` (from each node's `ip -j addr`). */
export async function holdersOf(nodes: readonly ElectionRoundNode[], address: string): Promise<string[]> {
  const holders: string[] = [];
  for (const n of nodes) if ((await n.ip.listAddresses('eth0')).some((a) => a.local === address)) holders.push(n.name);
  return holders;
}

/** Every IPv4 address left on any node's eth0, as `node:cidr`. */
export async function addressesOn(nodes: readonly ElectionRoundNode[]): Promise<string[]> {
  const all: string[] = [];
  for (const n of nodes) for (const a of await n.ip.listAddresses('eth0')) if (a.family === 'inet') all.push(`${n.name}:${a.cidr}`);
  return all;
}

/**
 * Bundles {@link runElectionNode} with its dependencies into one ESM file runnable by plain
 * `node` (the workspace runs TypeScript from source only under vitest). Returns the file path
 * and a cleanup function.
 */
export async function bundleElectionNode(
  /** Folder holding `run-election-node.ts`; default this file's folder (pass it when this module is itself bundled). */
  sourceDir = dirname(fileURLToPath(import.meta.url)),
): Promise<{ script: string; remove: () => Promise<void> }> {
  const { build } = await import('esbuild');
  const dir = await mkdtemp(join(tmpdir(), 'cle-node-'));
  const script = join(dir, 'election-node.mjs');
  await build({
    stdin: {
      contents: "import { runElectionNode } from './run-election-node.ts';\nawait runElectionNode(process.argv.slice(2));\n",
      resolveDir: sourceDir,
      loader: 'ts',
      sourcefile: 'election-node-entry.ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outfile: script,
    logLevel: 'error',
    // The workspace packages resolve to their TypeScript source, as under vitest.
    conditions: ['source'],
    // execa's CommonJS dependencies call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return { script, remove: () => rm(dir, { recursive: true, force: true }) };
}
