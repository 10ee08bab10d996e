import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { type Lab, openLab } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';
import { labExec, nodeStatus, roles } from './lab-helpers.js';
import { RogueHost } from './rogue-host.js';

const NODES = ['node1', 'node2', 'node3'];

/**
 * Issue 14's rogue against the leader role: a host on the cluster link without the secret. This
 * file is where the election's authentication is proven — unauthenticated candidacy messages and
 * ARP answers for the leader address must neither take the leader role nor make the leader
 * yield. Today it holds what already is true: a rogue that is on the link changes nothing about
 * who leads.
 */
describe.skipIf(skipUnlessRoot())('a rogue host on the cluster link and the leader role', () => {
  let lab: Lab;
  let rogue: RogueHost;
  let leader = '';

  beforeAll(async () => {
    await runCli(['lab', 'down']);
    const up = await runCli(['lab', 'up', '--nodes', '3'], { timeoutMs: 600_000 });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    lab = (await openLab('cluster-lab')) as Lab;
    ({ leader } = await roles(NODES));
    rogue = await RogueHost.join(lab);
  });
  afterAll(async () => {
    await rogue?.destroy();
    const down = await runCli(['lab', 'down'], { timeoutMs: 300_000 });
    expect(down.code, down.stderr).toBe(0);
  });

  it('with the rogue on the link, the leader keeps the leader address and role, and stays healthy', async () => {
    expect((await rogue.http('http://192.168.200.1:8500/v1/status/leader')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await nodeStatus(leader)).role).toBe('leader');
    expect(await nodeStatus(leader)).toMatchObject({ leaderAddress: '192.168.200.1', holdsLeaderAddress: true });
    expect((await roles(NODES)).leader).toBe(leader);
    const health = await labExec(leader, ['cluster-lab', 'health']);
    expect(health.code, health.stdout).toBe(0);
    expect(lab.nodes).toHaveLength(3);
  });
});
