import { skipUnlessRoot } from '@cluster-lab/core/testing';
import type { Lab } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';
import { eventually, labExec, nodeStatus } from './lab-helpers.js';
import {
  createLifecycleLab,
  dhcpAnswerVia,
  nodeAddressOf,
  startNodes,
  supervisorLog,
  VIP,
  viewCluster,
  vipHolders,
  waitConverged,
} from './lifecycle-helpers.js';

/**
 * One cluster for life (issue 13): faults injected into a 5-node lab — four nodes started at
 * once, node5 kept fresh for "a node boots after the leader was lost". The scenarios share the
 * lab and run in order (each one's end state is the next one's start), and each ends in the same
 * state: exactly one holder of the leader address, one swarm and one Consul cluster with every
 * live node, `health` PASS on every live node, no duplicate swarm node.
 *
 * Assertions marked "needs lifecycle-boot" depend on the boot flow of that branch (every node on
 * its own node address, Consul's HTTP API on the leader address of whoever holds it, discovery
 * before bootstrap, one slot table): a node that (re)starts while another node holds the leader
 * address joins Consul through it. They pass once both branches are merged.
 */
const REMOVE_AFTER_S = 20;

describe.skipIf(skipUnlessRoot())('lifecycle: power-off, crash, partition and rolling reboot on real Consul', () => {
  let lab: Lab;
  let live = ['node1', 'node2', 'node3', 'node4'];

  const holder = async (): Promise<string> => {
    const holders = await vipHolders(lab, live);
    expect(holders, `holders of ${VIP} among ${live.join(', ')}`).toHaveLength(1);
    return holders[0] as string;
  };
  const swarmRoles = async (on: string): Promise<Record<string, string>> => {
    const ls = await labExec(on, ['docker', 'node', 'ls', '--format', '{{.Hostname}}|{{.ManagerStatus}}']);
    return Object.fromEntries(
      ls.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('|'))
        .map(([h, m]) => [h as string, m ? 'manager' : 'worker']),
    );
  };
  const consulServers = async (on: string): Promise<string[]> => {
    const members = ((await nodeStatus(on)).consul as { members: { name: string; status: string; role?: string }[] }).members;
    return members
      .filter((m) => m.status === 'alive' && m.role === 'server')
      .map((m) => m.name)
      .sort();
  };
  const restart = async (name: string) => {
    await lab.powerOn(name);
    await startNodes([name]);
  };

  beforeAll(async () => {
    lab = await createLifecycleLab({ nodes: 5, removeAfter: REMOVE_AFTER_S });
    await startNodes(live);
    await waitConverged(lab, live, 180_000);
  }, 400_000);

  afterAll(async () => {
    const down = await runCli(['lab', 'down'], { timeoutMs: 300_000 });
    expect(down.code, down.stderr).toBe(0);
  }, 300_000);

  it('a follower powered off for longer than membership.removeAfter leaves both stores, its seat goes to a healthy node, and it rejoins as a normal member', {
    timeout: 240_000,
    retry: 0,
  }, async () => {
    const vip = await holder();
    const roles = await swarmRoles(vip);
    const gone = live.find((n) => n !== vip && roles[n] === 'manager') as string;
    await lab.powerOff(gone);
    live = live.filter((n) => n !== gone);
    await eventually(
      async () => {
        const view = await viewCluster(lab, [vip]);
        const status = (await nodeStatus(vip)).consul as { members: { name: string }[] };
        return !view.swarm.some((s) => s.hostname === gone) && !status.members.some((m) => m.name === gone);
      },
      (REMOVE_AFTER_S + 60) * 1000,
      `${gone} removed from the swarm and from Consul`,
    );
    // The seat is given to the node that had none: 3 managers and 3 Consul servers again, the same 3 nodes.
    await eventually(
      async () => {
        const managers = Object.entries(await swarmRoles(vip))
          .filter(([, r]) => r === 'manager')
          .map(([h]) => h)
          .sort();
        const servers = await consulServers(vip);
        return managers.length === 3 && JSON.stringify(managers) === JSON.stringify(servers);
      },
      90_000,
      '3 managers = 3 Consul servers on the live nodes',
    );
    await waitConverged(lab, live);
    // Back again: it joins as a normal member (the seats are taken).
    await restart(gone);
    live = [...live, gone].sort();
    await waitConverged(lab, live);
    expect((await swarmRoles(vip))[gone]).toBe('worker');
    // needs lifecycle-boot: one slot table decides both roles, so the returning node is a Consul client too.
    expect(await consulServers(vip)).not.toContain(gone);
  });

  it('partition of the leader from the others: the others elect a holder; after the heal exactly one holder remains, nothing restarted', {
    timeout: 180_000,
    retry: 0,
  }, async () => {
    const alone = await holder();
    const others = live.filter((n) => n !== alone);
    const supervisorPids = await Promise.all(
      live.map(async (n) => ((await nodeStatus(n)).supervisor as { pid?: number } | undefined)?.pid),
    );
    await lab.partition([[alone], others]);
    let majorityHolder = '';
    // Holding the address is not enough: wait until it took the duties (DHCP), or a heal right
    // now would make its DHCP probe see the other side's server and give the address up instead.
    await eventually(
      async () => {
        majorityHolder = (await vipHolders(lab, others))[0] ?? '';
        const supervisor = majorityHolder ? ((await nodeStatus(majorityHolder)).supervisor as { role?: string } | undefined) : undefined;
        return supervisor?.role === 'leader';
      },
      30_000,
      'a holder serving on the majority side',
    );
    expect(await vipHolders(lab, [alone])).toEqual([alone]);
    await lab.heal();
    await eventually(async () => (await vipHolders(lab, live)).length === 1, 20_000, 'one holder after the heal');
    await waitConverged(lab, live);
    // No restart, no leave: every supervisor is the one from before.
    expect(await Promise.all(live.map(async (n) => ((await nodeStatus(n)).supervisor as { pid?: number } | undefined)?.pid))).toEqual(
      supervisorPids,
    );
    const loser = (await vipHolders(lab, live))[0] === alone ? majorityHolder : alone;
    expect(await supervisorLog(lab.node(loser), 200)).toMatch(/yielding \(Consul and Swarm stay\)/);
  });

  it('leader power-off: another node holds the leader address and answers DHCP within 10 s; followers keep their addresses; a fresh node boots into the same cluster; the old leader comes back as a member', {
    timeout: 300_000,
    retry: 0,
  }, async () => {
    const old = await holder();
    const survivors = live.filter((n) => n !== old);
    const addresses = Object.fromEntries(await Promise.all(survivors.map(async (n) => [n, await nodeAddressOf(lab.node(n))])));
    // node5 is not started yet: it asks for a lease through a temporary link, like a new machine.
    const probeFrom = lab.node('node5');
    await lab.powerOff(old);
    const off = Date.now();
    let newHolder = '';
    let serverId: string | undefined;
    await eventually(
      async () => {
        newHolder = (await vipHolders(lab, survivors))[0] ?? '';
        if (!newHolder) return false;
        serverId = await dhcpAnswerVia(probeFrom);
        return serverId !== undefined;
      },
      30_000,
      'a new holder answering DHCP',
    );
    const tookMs = Date.now() - off;
    console.log(`leader power-off → ${newHolder} holds ${VIP} and answers DHCP (server id ${serverId}) after ${tookMs} ms`);
    expect(tookMs).toBeLessThanOrEqual(10_000);
    for (const n of survivors) expect(await nodeAddressOf(lab.node(n)), n).toBe(addresses[n]);
    live = survivors;
    await waitConverged(lab, live);
    // needs lifecycle-boot: the fresh node joins Consul through the new holder's agent on the leader address.
    await startNodes(['node5']);
    live = [...live, 'node5'].sort();
    await waitConverged(lab, live);
    // needs lifecycle-boot (same reason): the old leader rejoins Consul and the swarm as a member.
    await restart(old);
    live = [...live, old].sort();
    await waitConverged(lab, live);
    expect(await vipHolders(lab, live)).toEqual([newHolder]);
  });

  it('leader crash and return: the node comes back into the same swarm and Consul', { timeout: 180_000, retry: 0 }, async () => {
    const crashed = await holder();
    const witness = live.find((n) => n !== crashed) as string;
    const swarmId = (await labExec(witness, ['docker', 'info', '--format', '{{.Swarm.Cluster.ID}}'])).stdout.trim();
    await lab.powerOff(crashed);
    // needs lifecycle-boot when the address moved meanwhile (the crash outlasts failover.leaderTimeout).
    await restart(crashed);
    await waitConverged(lab, live);
    expect((await labExec(crashed, ['docker', 'info', '--format', '{{.Swarm.Cluster.ID}}'])).stdout.trim()).toBe(swarmId);
  });

  it('rolling reboot: every node powered off and on again, one at a time; one cluster after each', {
    timeout: 600_000,
    retry: 0,
  }, async () => {
    const swarmId = (await labExec(live[0] as string, ['docker', 'info', '--format', '{{.Swarm.Cluster.ID}}'])).stdout.trim();
    for (const name of [...live]) {
      await lab.powerOff(name);
      // needs lifecycle-boot whenever the rebooting node held the leader address.
      await restart(name);
      await waitConverged(lab, live);
    }
    for (const n of live)
      expect((await labExec(n, ['docker', 'info', '--format', '{{.Swarm.Cluster.ID}}'])).stdout.trim(), n).toBe(swarmId);
  });
});
