import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';
import { eventually, labExec, nodeStatus, roles, swarmNodes } from './lab-helpers.js';

const NODES = ['node1', 'node2', 'node3', 'node4', 'node5'];

describe.skipIf(skipUnlessRoot())('5-node lab over the native backend: simultaneous start', () => {
  let leader = '';
  beforeAll(async () => {
    await runCli(['lab', 'down']);
    const up = await runCli(['lab', 'up', '--nodes', '5', '--backend', 'native'], { timeoutMs: 300_000 });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    ({ leader } = await roles(NODES));
  });
  afterAll(async () => {
    const down = await runCli(['lab', 'down'], { timeoutMs: 300_000 });
    expect(down.code, down.stderr).toBe(0);
  });

  it('has exactly one leader and 4 followers with distinct leased addresses', async () => {
    const statuses = await Promise.all(NODES.map((n) => nodeStatus(n)));
    expect(statuses.filter((s) => s.role === 'leader')).toHaveLength(1);
    const followers = statuses.filter((s) => s.role === 'follower').map((s) => s.address);
    expect(new Set(followers).size).toBe(4);
    expect(statuses.every((s) => s.link === 'eth1')).toBe(true);
  });

  it('keeps exactly 3 Swarm managers among 5 Ready nodes, and 3 Consul servers', async () => {
    await eventually(
      async () => {
        const nodes = await swarmNodes(leader);
        return nodes.length === 5 && nodes.every((n) => n.status === 'Ready');
      },
      60_000,
      '5 Ready nodes',
    );
    const nodes = await swarmNodes(leader);
    expect(nodes.filter((n) => n.manager !== '')).toHaveLength(3);
    const statuses = await Promise.all(NODES.map((n) => nodeStatus(n)));
    expect(statuses.filter((s) => (s.consul as { server?: boolean }).server === true)).toHaveLength(3);
    expect((statuses[0]?.consul as { members: unknown[] } | undefined)?.members).toHaveLength(5);
  });

  it('runs the Consul servers and the Swarm managers on the same 3 nodes (one slot table)', async () => {
    const statuses = await Promise.all(NODES.map(async (n) => ({ n, s: await nodeStatus(n) })));
    const servers = statuses.filter((x) => (x.s.consul as { server?: boolean }).server === true).map((x) => x.n);
    const managers = (await swarmNodes(leader)).filter((n) => n.manager !== '').map((n) => n.hostname);
    expect(servers.sort()).toEqual(managers.sort());
    expect(servers).toHaveLength(3);
    expect(servers).toContain(leader);
  });

  it('labels every node with its role and architecture', async () => {
    await eventually(
      async () => {
        const run = await labExec(leader, ['docker', 'node', 'ls', '-q']);
        const ids = run.stdout.trim().split('\n');
        const inspect = await labExec(leader, [
          'docker',
          'node',
          'inspect',
          '--format',
          '{{index .Spec.Labels "cluster-lab.role"}} {{index .Spec.Labels "cluster-lab.arch"}}',
          ...ids,
        ]);
        const lines = inspect.stdout.trim().split('\n');
        return (
          lines.length === 5 &&
          lines.filter((l) => l.startsWith('leader ')).length === 1 &&
          lines.filter((l) => l.startsWith('follower ')).length === 4 &&
          lines.every((l) => / \S+$/.test(l))
        );
      },
      60_000,
      'labels on all nodes',
    );
  });

  it('health passes on every node', async () => {
    for (const n of NODES) {
      const run = await labExec(n, ['cluster-lab', 'health']);
      expect(run.code, run.stdout).toBe(0);
    }
  });
});
