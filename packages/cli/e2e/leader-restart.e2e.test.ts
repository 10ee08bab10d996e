import { findConsulBinary } from '@cluster-lab/consul';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';
import { eventually, labExec, nodeStatus, roles, swarmNodes } from './lab-helpers.js';

const NODES = ['node1', 'node2', 'node3'];

/** One cluster with every node: a single swarm (no duplicate entries), all Consul members alive, one identity. */
async function oneClusterOfAll(): Promise<boolean> {
  const statuses = await Promise.all(NODES.map((n) => nodeStatus(n)));
  const swarms = await Promise.all(NODES.map((n) => swarmNodes(n).catch(() => [])));
  const consul = await findConsulBinary();
  const members = await labExec(NODES[0] as string, [consul as string, 'members']);
  const alive = members.stdout
    .trim()
    .split('\n')
    .slice(1)
    .filter((l) => /\balive\b/.test(l)).length;
  return (
    statuses.every((s) => s.running === true) &&
    new Set(statuses.map((s) => s.clusterId)).size === 1 &&
    swarms.every((nodes) => nodes.length === 3 && nodes.every((x) => x.status === 'Ready')) &&
    alive === 3
  );
}

describe.skipIf(skipUnlessRoot())('leader stop + start (a clean reboot of the leader) rejoins the same cluster', () => {
  let leader = '';
  let before: Record<string, unknown> = {};
  beforeAll(async () => {
    await runCli(['lab', 'down']);
    const up = await runCli(['lab', 'up', '--nodes', '3'], { timeoutMs: 300_000 });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    ({ leader } = await roles(NODES));
    before = await nodeStatus(leader);
  });
  afterAll(async () => {
    const down = await runCli(['lab', 'down'], { timeoutMs: 300_000 });
    expect(down.code, down.stderr).toBe(0);
  });

  it('after stop and start the old leader is back in the SAME swarm and Consul, once, and health passes everywhere', async () => {
    const stop = await labExec(leader, ['cluster-lab', 'stop']);
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    const start = await labExec(leader, ['cluster-lab', 'start']);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    // `start` returns once the node is in Consul and in the swarm (its labels applied by a manager).
    console.log(`leader restart → rejoined: ${/ready in (\S+ s)/.exec(start.stdout)?.[1]} (shared machine)`);
    // It looked before it bootstrapped, found the cluster and joined it — no new cluster.
    expect(start.stdout).toContain('Swarm join');
    expect(start.stdout).not.toContain('Swarm init');
    await eventually(oneClusterOfAll, 60_000, 'one swarm and one Consul with all three nodes');

    const after = await nodeStatus(leader);
    // The same cluster and swarm, and the leader's node address did not change.
    // A follower may have taken the leader address while it was down (failover after
    // failover.leaderTimeout): whoever holds it, exactly one node does.
    const holders = (await Promise.all(NODES.map((n) => nodeStatus(n)))).filter((s) => s.holdsLeaderAddress === true);
    expect(holders).toHaveLength(1);
    expect(after).toMatchObject({
      clusterId: before.clusterId,
      swarmClusterId: before.swarmClusterId,
      address: before.address,
    });
    for (const n of NODES) {
      const s = await nodeStatus(n);
      expect(s.clusterId, n).toBe(before.clusterId);
      expect(s.swarmClusterId, n).toBe(before.swarmClusterId);
      // Still one entry per host name (the old leader's stale entry was removed).
      const swarm = await swarmNodes(n);
      expect(swarm.map((x) => x.hostname).sort(), n).toEqual(NODES);
    }
    // Servers and managers are the same three nodes again.
    const managers = (await swarmNodes(leader)).filter((x) => x.manager !== '').map((x) => x.hostname);
    expect(managers.sort()).toEqual(NODES);
    expect(after.consul).toMatchObject({ server: true });
    await eventually(
      async () => {
        for (const n of NODES) {
          const run = await labExec(n, ['cluster-lab', 'health']);
          if (run.code !== 0 || run.stdout.includes('FAIL')) return false;
        }
        return true;
      },
      60_000,
      'health PASS on every node',
    );
  });
});
