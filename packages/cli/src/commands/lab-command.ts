import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findConsulBinary } from '@cluster-lab/consul';
import { ClusterLabError, DAEMON_LOGS_ENV, loadClusterKeys } from '@cluster-lab/core';
import { createLab, type Lab, type LabNode, openLab } from '@cluster-lab/lab';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { labNodeConfig } from '../lab/lab-node-config.js';
import { cliArgv, type JsonRun, runCliJson } from '../lab/run-in-nodes.js';
import type { Output } from '../output/output.js';
import { type GlobalFlags, makeOutput, requireRoot } from './context.js';

/** Name of the lab that `cluster-lab lab …` manages. */
export const CLI_LAB_NAME = 'cluster-lab';
const START_TIMEOUT_MS = 180_000;
/** How long `lab up` waits for every node's health to pass after start (joins settle, labels apply). */
const HEALTHY_TIMEOUT_MS = 60_000;

function nodeConfigPath(node: LabNode): string {
  return join(node.dir, 'config.yaml');
}

/**
 * The lab runs real Consul: the `consul` on PATH or the Debian 11 build setup cached. The test
 * double runs only when the user asks for it with `--fake-consul`, and says so.
 */
async function consulBinary(out: Output, fake: boolean): Promise<string> {
  if (fake) {
    const { FAKE_CONSUL_BIN } = await import('@cluster-lab/consul/testing');
    out.warn(
      '--fake-consul: the lab runs the Consul TEST DOUBLE (fake-consul), which speaks only the subset of the Consul HTTP API Cluster Lab uses — not HashiCorp Consul.',
    );
    return FAKE_CONSUL_BIN;
  }
  const real = await findConsulBinary();
  if (real) return real;
  throw new ClusterLabError('CONSUL_NOT_INSTALLED', 'no `consul` executable: the lab runs real Consul', {
    hint: "run `sudo bash scripts/setup.sh` or `sudo cluster-lab dependencies --install` (installs Debian 11's Consul 1.8.7), or install Consul ≥ 1.8 and put it on PATH",
    errorClass: 'dependency',
  });
}

async function requireLab(): Promise<Lab> {
  const lab = await openLab(CLI_LAB_NAME);
  if (!lab) {
    throw new ClusterLabError('LAB_NOT_FOUND', 'no virtual lab is running', {
      hint: 'create one with: sudo cluster-lab lab up',
      errorClass: 'usage',
    });
  }
  return lab;
}

function describeRun(node: LabNode, run: JsonRun): string {
  const f = run.final ?? {};
  if (run.exitCode === 0) {
    return `${node.name}: ${String(f.role ?? '?')} ${String(f.address ?? '')}${f.swarmRole ? `, swarm ${String(f.swarmRole)}` : ''} (${(run.durationMs / 1000).toFixed(2)} s)`;
  }
  const message = typeof f.message === 'string' ? f.message : run.stderr.trim().split('\n').slice(-3).join(' / ');
  return `${node.name}: FAILED (exit ${run.exitCode}) ${message}${typeof f.hint === 'string' ? `\n    hint: ${f.hint}` : ''}`;
}

/** `cluster-lab lab up`: nodes + dockerd, simultaneous `start` in every node, health, status. */
export async function runUp(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & { nodes: string; backend: 'vxlan' | 'native'; keep?: boolean; fakeConsul?: boolean }>();
  const out = makeOutput(flags);
  const count = Number(flags.nodes);
  if (!Number.isInteger(count) || count < 2 || count > 12) {
    throw new ClusterLabError('INVALID_ARGUMENT', `--nodes ${JSON.stringify(flags.nodes)} must be a whole number from 2 to 12`, {
      hint: 'e.g. --nodes 3',
      errorClass: 'usage',
    });
  }
  requireRoot('lab up');
  const existing = await openLab(CLI_LAB_NAME);
  if (existing) {
    out.line(`a lab is already running (${existing.nodes.length} nodes); showing its status — \`cluster-lab lab down\` removes it`);
    await printStatus(existing, out);
    return;
  }
  const binary = await consulBinary(out, flags.fakeConsul === true);
  const t0 = performance.now();
  out.line(`creating ${count} nodes (network namespaces, switch, one dockerd each)…`);
  const lab = await createLab({
    name: CLI_LAB_NAME,
    nodes: count,
    docker: true,
    image: true,
    lan: true,
    router: true,
    clusterNic: flags.backend === 'native',
    persistent: true,
  });
  out.line(`lab ready in ${((performance.now() - t0) / 1000).toFixed(2)} s; starting \`cluster-lab start\` on all ${count} nodes at once`);
  let ok = false;
  try {
    for (const node of lab.nodes) {
      const config = labNodeConfig({
        nodeName: node.name,
        nodeDir: node.dir,
        backend: flags.backend,
        dockerSocket: node.dockerSocket as string,
        secretFile: lab.secretFile,
        consulBinary: binary,
      });
      await writeFile(nodeConfigPath(node), stringify(config));
    }
    const t1 = performance.now();
    const runs = await Promise.all(
      lab.nodes.map(async (node) => {
        const run = await runCliJson(node.runner, ['start', '--config', nodeConfigPath(node)], START_TIMEOUT_MS);
        out.line(`  ${describeRun(node, run)}`);
        return run;
      }),
    );
    const failed = runs.filter((r) => r.exitCode !== 0).length;
    if (failed > 0)
      throw new ClusterLabError('LAB_START_FAILED', `${failed} of ${count} node(s) failed to start`, {
        hint: 'see the lines above; rerun with --keep to inspect the nodes',
      });
    out.line(
      `cluster formed in ${((performance.now() - t1) / 1000).toFixed(2)} s (total ${((performance.now() - t0) / 1000).toFixed(2)} s)\n`,
    );
    if (!(await waitHealthy(lab, HEALTHY_TIMEOUT_MS))) out.warn(`not all nodes were healthy within ${HEALTHY_TIMEOUT_MS / 1000} s`);
    const { healthy, leader = 'node1' } = await printStatus(lab, out);
    if (!healthy)
      throw new ClusterLabError('LAB_UNHEALTHY', 'the cluster came up but health checks fail', {
        hint: `rerun with --keep and inspect: cluster-lab lab exec ${leader} -- cluster-lab health`,
      });
    ok = true;
    out.line(`\nTry it (${leader} is the leader):
  cluster-lab lab exec ${leader} -- docker node ls
  cluster-lab lab exec ${leader} -- cluster-lab status
  cluster-lab lab status
  cluster-lab lab down        # removes everything`);
  } finally {
    if (!ok && !flags.keep) {
      out.line('bring-up failed: removing the lab (use --keep to keep it for inspection)');
      await stopAll(lab);
      await lab.destroy();
    }
  }
}

/** Polls `cluster-lab health` on every node until all pass; false on timeout. */
async function waitHealthy(lab: Lab, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await Promise.all(lab.nodes.map((node) => runCliJson(node.runner, ['health', '--config', nodeConfigPath(node)], 60_000)));
    if (runs.every((r) => r.exitCode === 0)) return true;
    if (Date.now() > deadline) return false;
    await sleep(1000);
  }
}

/** Stops every node at once; they all go, so none needs the graceful leave that protects the nodes that stay (`--cluster-down`). */
async function stopAll(lab: Lab): Promise<JsonRun[]> {
  return Promise.all(
    lab.nodes.map((node) => runCliJson(node.runner, ['stop', '--cluster-down', '--config', nodeConfigPath(node)], 120_000)),
  );
}

/** Prints one line per node from `cluster-lab status --json` + `health --json`; returns whether all are healthy and the leader's name. */
async function printStatus(lab: Lab, out: Output): Promise<{ healthy: boolean; leader: string | undefined }> {
  const rows = await Promise.all(
    lab.nodes.map(async (node) => {
      const [status, health] = await Promise.all([
        runCliJson(node.runner, ['status', '--config', nodeConfigPath(node)], 30_000),
        runCliJson(node.runner, ['health', '--config', nodeConfigPath(node)], 60_000),
      ]);
      return { node, status: status.final ?? {}, health };
    }),
  );
  if (out.options.json) {
    out.json({ type: 'lab-status', nodes: rows.map((r) => ({ node: r.node.name, status: r.status, healthy: r.health.exitCode === 0 })) });
  } else {
    out.table(
      ['NODE', 'ROLE', 'ADDRESS', 'LINK', 'CONSUL', 'SWARM', 'HEALTH'],
      rows.map(({ node, status, health }) => {
        const consul = (status.consul ?? {}) as Record<string, unknown>;
        const swarm = (status.swarm ?? {}) as Record<string, unknown>;
        const fails = health.events.filter((e) => e.type === 'check' && e.status === 'FAIL').length;
        return [
          node.name,
          String(status.role ?? '-'),
          String(status.address ?? '-'),
          String(status.link ?? '-'),
          consul.server === undefined ? '-' : consul.server ? 'server' : 'client',
          String(swarm.role ?? '-'),
          health.exitCode === 0 ? 'PASS' : `FAIL (${fails})`,
        ];
      }),
    );
  }
  return { healthy: rows.every((r) => r.health.exitCode === 0), leader: rows.find((r) => r.status.role === 'leader')?.node.name };
}

/** `cluster-lab lab status`. */
export async function runStatus(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const out = makeOutput(cmd.optsWithGlobals<GlobalFlags>());
  requireRoot('lab status');
  const lab = await requireLab();
  if (!(await printStatus(lab, out)).healthy) process.exitCode = 1;
}

/**
 * `cluster-lab lab exec <node> -- <command…>`: runs a command inside a node, with DOCKER_HOST,
 * CONSUL_HTTP_ADDR and CONSUL_HTTP_TOKEN (the management token of the lab's secret: Consul
 * refuses anonymous requests) set, so `docker …` and `consul …` work as on a real node.
 */
export async function runExec(...args: unknown[]): Promise<void> {
  const [nodeName, argv] = args as [string, string[]];
  requireRoot('lab exec');
  const lab = await requireLab();
  const node = lab.nodes.find((n) => n.name === nodeName);
  if (!node) {
    throw new ClusterLabError('INVALID_ARGUMENT', `lab has no node "${nodeName}"`, {
      hint: `use one of: ${lab.nodes.map((n) => n.name).join(', ')}`,
      errorClass: 'usage',
    });
  }
  const [file, ...rest] = argv;
  if (!file)
    throw new ClusterLabError('INVALID_ARGUMENT', 'no command given', {
      hint: 'e.g. cluster-lab lab exec node1 -- docker node ls',
      errorClass: 'usage',
    });
  // `cluster-lab` inside a node means this very build, with the node's own config.
  const isSelf = file === 'cluster-lab';
  const program = isSelf ? process.execPath : file;
  const programArgs = isSelf ? cliArgv(withConfig(rest, nodeConfigPath(node))) : rest;
  // A lab made before labs had a secret has none: then Consul runs without ACLs anyway.
  const keys = await loadClusterKeys({ security: 'secret', secretFile: lab.secretFile }).catch(() => undefined);
  const result = await node.runner.run(program, programArgs, {
    reject: false,
    timeoutMs: 600_000,
    env: {
      DOCKER_HOST: `unix://${node.dockerSocket}`,
      CONSUL_HTTP_ADDR: '127.0.0.1:8500',
      ...(keys ? { CONSUL_HTTP_TOKEN: keys.managementToken } : {}),
      [DAEMON_LOGS_ENV]: 'file',
    },
  });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}

function withConfig(args: string[], config: string): string[] {
  return args.includes('--config') || args.includes('-c') ? args : [...args, '--config', config];
}

/** `cluster-lab lab down`: stop every node (so the cluster is left cleanly), then remove the lab. */
export async function runDown(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const out = makeOutput(cmd.optsWithGlobals<GlobalFlags>());
  requireRoot('lab down');
  const lab = await openLab(CLI_LAB_NAME);
  if (!lab) {
    out.line('no virtual lab is running');
    return;
  }
  const t0 = performance.now();
  const runs = await stopAll(lab);
  runs.forEach((run, i) => {
    if (run.exitCode !== 0)
      out.warn(`${lab.nodes[i]?.name}: stop failed (${run.stderr.trim().split('\n').at(-1) ?? ''}); removing the node anyway`);
  });
  const t1 = performance.now();
  await lab.destroy();
  const seconds = (ms: number) => (ms / 1000).toFixed(2);
  out.line(
    `lab removed (${lab.nodes.length} nodes): stopped in ${seconds(t1 - t0)} s (slowest node ${seconds(Math.max(...runs.map((r) => r.durationMs)))} s), namespaces and dockerds removed in ${seconds(performance.now() - t1)} s`,
  );
}
