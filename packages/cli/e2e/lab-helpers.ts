import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { jsonLines, runCli } from './cli-process.js';

/** `cluster-lab lab exec <node> -- …` through the built CLI. */
export function labExec(node: string, args: string[], timeoutMs = 120_000) {
  return runCli(['lab', 'exec', node, '--', ...args], { timeoutMs });
}

/** `cluster-lab status --json` of one lab node, parsed. */
export async function nodeStatus(node: string): Promise<Record<string, unknown>> {
  const run = await labExec(node, ['cluster-lab', 'status', '--json']);
  expect(run.stderr).toBe('');
  const status = jsonLines(run.stdout).find((e) => e.type === 'status');
  expect(status, run.stdout).toBeDefined();
  return status as Record<string, unknown>;
}

/** `docker node ls` on a node, as `hostname status manager-status` lines. */
export async function swarmNodes(node: string): Promise<{ hostname: string; status: string; manager: string }[]> {
  const run = await labExec(node, ['docker', 'node', 'ls', '--format', '{{.Hostname}}|{{.Status}}|{{.ManagerStatus}}']);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [hostname = '', status = '', manager = ''] = l.split('|');
      return { hostname, status, manager };
    });
}

/** Reads a pid file inside a lab node's state dir. */
export async function pidIn(nodeDir: string, ...path: string[]): Promise<number> {
  return Number.parseInt(await readFile(join(nodeDir, 'cluster-lab', ...path), 'utf8'), 10);
}

/** Polls `fn` until it returns true or the timeout passes. */
export async function eventually(fn: () => Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Names of the leader node and the followers, from each node's `status --json`. */
export async function roles(nodes: string[]): Promise<{ leader: string; followers: string[] }> {
  const statuses = await Promise.all(nodes.map(async (n) => ({ n, s: await nodeStatus(n) })));
  const leader = statuses.find((x) => x.s.role === 'leader')?.n;
  if (!leader) throw new Error('no leader among the lab nodes');
  return { leader, followers: statuses.filter((x) => x.s.role === 'follower').map((x) => x.n) };
}
