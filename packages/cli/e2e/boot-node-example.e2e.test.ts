import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findExecutable } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { createLab, type Lab, type LabNode } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { labNodeConfig } from '../src/lab/lab-node-config.js';
import { CLI_BIN, jsonLines } from './cli-process.js';
import { eventually } from './lab-helpers.js';
import { REPO_ROOT } from './readme-commands.js';

/** The examples under test: scripts that import only @cluster-lab/node and @cluster-lab/core. */
const EXAMPLE = join(REPO_ROOT, 'examples', 'boot-node.ts');
const CUSTOM_FLOW = join(REPO_ROOT, 'examples', 'custom-boot-flow.ts');
/** What `stop` keeps on purpose in the state dir. */
const KEPT = /^(cluster\.json|dhcp(\/dnsmasq\.(leases|log))?|consul(\/consul\.log)?|supervisor(\/supervisor\.log)?)$/;

describe.skipIf(skipUnlessRoot())('boot flows from scripts of @cluster-lab/node + core (examples/), on 3 lab nodes at once', () => {
  let lab: Lab;
  const configOf = (node: LabNode) => join(node.dir, 'config.yaml');
  const example = (node: LabNode, command: 'start' | 'stop') =>
    node.runner.run(process.execPath, [EXAMPLE, command, '--config', configOf(node)], { reject: false, timeoutMs: 180_000 });
  /** The CLI reads what the example's startNode left: the same journal, the same state dir. */
  const cli = async (node: LabNode, command: 'status' | 'health') => {
    const run = await node.runner.run(process.execPath, [CLI_BIN, command, '--json', '--config', configOf(node)], {
      reject: false,
      timeoutMs: 60_000,
      env: { NO_COLOR: '1' },
    });
    return { exitCode: run.exitCode, events: jsonLines(run.stdout), stdout: run.stdout };
  };

  beforeAll(async () => {
    const { FAKE_CONSUL_BIN } = await import('@cluster-lab/consul/testing');
    const consul = (await findExecutable('consul')) ?? FAKE_CONSUL_BIN;
    lab = await createLab({ name: 'boot-example', nodes: 3, docker: true });
    for (const node of lab.nodes) {
      const config = labNodeConfig({
        nodeName: node.name,
        nodeDir: node.dir,
        backend: 'vxlan',
        dockerSocket: node.dockerSocket as string,
        secretFile: lab.secretFile,
        consulBinary: consul,
      });
      await writeFile(configOf(node), stringify(config));
    }
  });
  afterAll(async () => {
    // Whatever a failed test left running in the nodes goes with them (stop first, then the lab).
    if (lab) await Promise.all(lab.nodes.map((n) => example(n, 'stop')));
    await lab?.destroy();
  });

  it('forms the cluster: one leader, two followers with leases, Consul and a 3-node swarm; the CLI sees it healthy', async () => {
    const runs = await Promise.all(lab.nodes.map((n) => example(n, 'start')));
    for (const [i, r] of runs.entries()) expect(r.exitCode, `${lab.nodes[i]?.name}: ${r.stdout}${r.stderr}`).toBe(0);
    const statuses = await Promise.all(lab.nodes.map(async (n) => (await cli(n, 'status')).events.find((e) => e.type === 'status')));
    // The leader holds the leader address beside its own node address.
    expect(statuses.filter((s) => s?.role === 'leader').map((s) => s?.leaderAddress)).toEqual(['192.168.200.1']);
    const followers = statuses.filter((s) => s?.role === 'follower').map((s) => String(s?.address));
    expect(followers).toHaveLength(2);
    expect(new Set(followers).size).toBe(2);
    const leader = lab.nodes[statuses.findIndex((s) => s?.role === 'leader')] as LabNode;
    await eventually(
      async () => (await leader.docker().listNodes()).filter((n) => n.Status?.State === 'ready').length === 3,
      60_000,
      'a swarm of 3 ready nodes',
    );
    // Every health check passes, the supervisor (the example's own `supervise` mode) included.
    for (const node of lab.nodes) {
      await eventually(async () => (await cli(node, 'health')).exitCode === 0, 60_000, `${node.name} healthy`);
      const checks = (await cli(node, 'health')).events.filter((e) => e.type === 'check');
      expect(checks.find((c) => c.id === 'supervisor')?.status, node.name).toBe('PASS');
    }
  });

  it('a second start changes nothing', async () => {
    const runs = await Promise.all(lab.nodes.map((n) => example(n, 'start')));
    for (const r of runs) {
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('already running');
    }
  });

  it('stop on every node leaves nothing that start created', async () => {
    const runs = await Promise.all(lab.nodes.map((n) => example(n, 'stop')));
    for (const r of runs) expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const node of lab.nodes) {
      expect((await node.ip.listLinks()).map((l) => l.name)).not.toContain('vx200');
      const addrs = (await node.ip.listAddresses()).map((a) => a.local);
      expect(addrs.filter((a) => a.startsWith('192.168.200.') || a.startsWith('169.254.'))).toEqual([]);
      expect((await node.docker().info()).Swarm?.LocalNodeState).toBe('inactive');
      const left = await readdir(join(node.dir, 'cluster-lab'), { recursive: true }).catch(() => [] as string[]);
      // Kept on purpose: the lease database, cluster.json and the daemons' logs (post-mortems; `--purge` deletes them).
      expect(left.filter((f) => !KEPT.test(String(f)))).toEqual([]);
    }
  });

  it("custom-boot-flow.ts: link + election + DHCP from node's role functions on every node at once; --stop leaves nothing", async () => {
    // Its own state dir per node (the nodes share the host's file system).
    const flow = (node: LabNode, ...args: string[]) =>
      node.runner.run(process.execPath, [CUSTOM_FLOW, '--config', configOf(node), '--state-dir', join(node.dir, 'custom-flow'), ...args], {
        reject: false,
        timeoutMs: 120_000,
      });
    const runs = await Promise.all(lab.nodes.map((n) => flow(n)));
    for (const r of runs) expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const outcomes = runs.map((r) => /this node is the (leader|follower) at (\S+) on vx200/.exec(r.stdout)?.slice(1));
    expect(outcomes.filter((o) => o?.[0] === 'leader').map((o) => o?.[1])).toEqual(['192.168.200.1']);
    const followers = outcomes.filter((o) => o?.[0] === 'follower').map((o) => o?.[1]);
    expect(new Set(followers).size).toBe(2);

    const stops = await Promise.all(lab.nodes.map((n) => flow(n, '--stop')));
    for (const r of stops) expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const node of lab.nodes) {
      expect((await node.ip.listLinks()).map((l) => l.name)).not.toContain('vx200');
      const addrs = (await node.ip.listAddresses()).map((a) => a.local);
      expect(addrs.filter((a) => a.startsWith('192.168.200.') || a.startsWith('169.254.'))).toEqual([]);
      const left = await readdir(join(node.dir, 'custom-flow'), { recursive: true }).catch(() => [] as string[]);
      expect(left.filter((f) => !/^dhcp(\/dnsmasq\.(leases|log))?$/.test(String(f)))).toEqual([]);
    }
  });
});
