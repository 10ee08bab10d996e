/**
 * A minimal namespace "switch" for the election's integration test and benchmark: N network
 * namespaces whose `eth0` sit on one bridge, with no address (like lab nodes with `lan: false`
 * and the native backend on eth0). Core cannot use `@cluster-lab/lab` — lab depends on core — so
 * this is the smallest equivalent, built through core's {@link IpRoute2}. Not part of the public API.
 * @internal
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandRunner } from '../command/command-runner.js';
import { ExecaRunner } from '../command/execa-runner.js';
import { PrefixedRunner } from '../command/prefixed-runner.js';
import { IpRoute2 } from '../net/ip-route2.js';
import { uniqueSuffix } from '../testing/root.js';
import type { ElectionRole } from './elect-leader.js';
import type { ElectionNodeReport, ElectionNodeSpec } from './run-election-node.js';

export interface NetnsElectionNode {
  name: string;
  netns: string;
  mac: string;
  /** `ip` acting inside the node. */
  network: IpRoute2;
  /** Runs commands inside the node (`nsenter --net=… --`). */
  runner: CommandRunner;
}

export class NetnsSegment implements AsyncDisposable {
  private constructor(
    private readonly host: CommandRunner,
    readonly switchNetns: string,
    readonly nodes: NetnsElectionNode[],
    private readonly created: string[],
  ) {}

  static async create(count: number, host: CommandRunner = new ExecaRunner()): Promise<NetnsSegment> {
    const id = uniqueSuffix();
    const sw = `cle-${id}-sw`;
    const created: string[] = [];
    const segment = new NetnsSegment(host, sw, [], created);
    try {
      await host.run('ip', ['netns', 'add', sw]);
      created.push(sw);
      const swNet = new IpRoute2(host, sw);
      await swNet.addLink({ kind: 'bridge', name: 'br0' });
      await swNet.setUp('br0');
      for (let i = 1; i <= count; i++) {
        const netns = `cle-${id}-n${i}`;
        await host.run('ip', ['netns', 'add', netns]);
        created.push(netns);
        const port = `v${id}n${i}`;
        await swNet.addLink({ kind: 'veth', name: port, peer: 'eth0', peerNetns: netns });
        await swNet.setMaster(port, 'br0');
        await swNet.setUp(port);
        const network = new IpRoute2(host, netns);
        await network.setUp('lo');
        await network.setUp('eth0');
        const { mac } = await network.requireLink('eth0');
        segment.nodes.push({
          name: `node${i}`,
          netns,
          mac,
          network,
          runner: new PrefixedRunner(host, ['nsenter', `--net=/run/netns/${netns}`, '--']),
        });
      }
      return segment;
    } catch (error) {
      await segment.destroy();
      throw error;
    }
  }

  /** Names of the nodes whose eth0 holds `address` (from each node's `ip -j addr`). */
  async holdersOf(address: string): Promise<string[]> {
    const holders: string[] = [];
    for (const n of this.nodes) if ((await n.network.listAddresses('eth0')).some((a) => a.local === address)) holders.push(n.name);
    return holders;
  }

  /** Every IPv4 address left on any node's eth0. */
  async addresses(): Promise<string[]> {
    const all: string[] = [];
    for (const n of this.nodes)
      for (const a of await n.network.listAddresses('eth0')) if (a.family === 'inet') all.push(`${n.name}:${a.cidr}`);
    return all;
  }

  /** Removes exactly the namespaces it created (their veths go with them); safe twice. */
  async destroy(): Promise<void> {
    for (const netns of this.created.splice(0).reverse()) {
      await this.host.run('ip', ['netns', 'del', netns], { reject: false });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
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
}

/** Runs the real election on every node at once, each in its own process in its namespace. */
export async function runRealElectionRound(segment: NetnsSegment, options: RealRoundOptions): Promise<ElectionNodeReport[]> {
  // Leave time for N processes to start and load before the common start time.
  const startAt = Date.now() + 400 + 60 * segment.nodes.length;
  return Promise.all(
    segment.nodes.map(async (node, i) => {
      const spec: ElectionNodeSpec = {
        nodeId: node.name,
        link: 'eth0',
        leaderAddress: options.leaderAddress,
        prefix: options.prefix,
        priority: options.priorities?.[i] ?? 100,
        role: options.roles?.[i] ?? 'auto',
        startAt,
        offsetMs: options.offsetsMs[i] ?? 0,
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
    // execa's CommonJS dependencies call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return { script, remove: () => rm(dir, { recursive: true, force: true }) };
}
