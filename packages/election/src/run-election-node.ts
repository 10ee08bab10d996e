/**
 * Entry used by the integration test and `bench/election-bench.mjs`: one lab node's real
 * election, run as its own process inside the node's network namespace (UDP sockets belong to
 * the namespace of the process that opens them, so every node needs its own process — exactly as
 * `cluster-lab start` runs on a real node). Not part of the public API.
 * @internal
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExecaRunner, IpRoute2, type ProgressEvent } from '@cluster-lab/core';
import { createRealElectionDeps } from './create-real-election-deps.js';
import { type ElectionResult, type ElectionRole, electLeader } from './elect-leader.js';

/** What the parent passes as the single JSON argument. */
export interface ElectionNodeSpec {
  nodeId: string;
  link: string;
  leaderAddress: string;
  prefix: number;
  priority: number;
  role: ElectionRole;
  /** Epoch ms at which all nodes of a round start; each adds its own offset. */
  startAt: number;
  offsetMs: number;
  /** Election key (hex) from a cluster secret: messages are signed and verified; absent = open. */
  electionKey?: string;
}

/** What the process prints as one JSON line on stdout. */
export interface ElectionNodeReport {
  nodeId: string;
  mac: string;
  /** How late the process was for its start time (process start-up under load). */
  lateMs: number;
  result?: ElectionResult;
  error?: { code?: string; message: string };
  events: ProgressEvent[];
}

export async function runElectionNode(argv: readonly string[]): Promise<void> {
  const spec = JSON.parse(argv[0] ?? '{}') as ElectionNodeSpec;
  const runner = new ExecaRunner();
  const network = new IpRoute2(runner);
  const { mac } = await network.requireLink(spec.link);
  const events: ProgressEvent[] = [];
  const startAt = spec.startAt + spec.offsetMs;
  const wait = startAt - Date.now();
  if (wait > 0) await sleep(wait);
  const report: ElectionNodeReport = { nodeId: spec.nodeId, mac, lateMs: Math.max(0, -wait), events };
  try {
    report.result = await electLeader({
      link: spec.link,
      mac,
      leaderAddress: spec.leaderAddress,
      prefix: spec.prefix,
      priority: spec.priority,
      role: spec.role,
      nodeId: spec.nodeId,
      network,
      ...createRealElectionDeps({
        runner,
        network,
        ...(spec.electionKey ? { security: { mode: 'secret' as const, key: Buffer.from(spec.electionKey, 'hex') } } : {}),
      }),
      onEvent: (e) => events.push(e),
    });
  } catch (error) {
    const e = error as { code?: string; message: string };
    report.error = e.code === undefined ? { message: e.message } : { code: e.code, message: e.message };
    process.exitCode = 1;
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
