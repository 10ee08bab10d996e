import { readFile, rm } from 'node:fs/promises';
import { InMemoryClusterStore, isProcessAlive, killAndWait, readPidFile } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { BUSYBOX_IMAGE, createLab, dockerdPaths, type Lab, type LabNode, startDockerd } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from './swarm-join.js';
import { leave } from './swarm-leave.js';
import { initManager } from './swarm-manager.js';
import { type Reconciler, startReconciler } from './swarm-reconcile.js';
import { status } from './swarm-status.js';

/** `docker …` against a node's own dockerd (the CLI, as a user would check). */
const docker = (node: LabNode, args: string[], timeoutMs = 60_000) =>
  node.exec('docker', ['-H', `unix://${node.dockerSocket}`, ...args], { timeoutMs });

async function swarmState(node: LabNode): Promise<string> {
  return (await docker(node, ['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim();
}

/** Forms the cluster like `cluster-lab start` does on each node: leader init + followers joining at once. */
async function form(lab: Lab, store: InMemoryClusterStore): Promise<Reconciler> {
  const [leader, ...followers] = lab.nodes as [LabNode, ...LabNode[]];
  const leaderJoin = initManager({ docker: leader.docker(), store, advertiseAddr: leader.lanAddress as string, labels: { zone: 'lab' } });
  // Followers start before the leader has finished: they block on the store until tokens appear.
  const joins = followers.map((n) =>
    join({ docker: n.docker(), store, advertiseAddr: n.lanAddress as string, labels: { zone: 'lab' }, timeoutMs: 60_000 }),
  );
  // Awaited below; a join failing meanwhile must not surface as an unhandled rejection.
  for (const j of joins) j.catch(() => {});
  await leaderJoin;
  const reconciler = startReconciler({ docker: leader.docker(), store });
  const results = await Promise.all(joins);
  expect(results.every((r) => r.labelsApplied)).toBe(true);
  return reconciler;
}

async function stopAll(lab: Lab, store: InMemoryClusterStore): Promise<void> {
  const [leader, ...followers] = lab.nodes as [LabNode, ...LabNode[]];
  await Promise.all(followers.map((n) => leave({ docker: n.docker(), store })));
  await leave({ docker: leader.docker(), store, waitForOthersMs: 20_000 });
}

describe.skipIf(skipUnlessRoot())('swarm on a 3-node lab (real dockerd per node)', () => {
  let lab: Lab;
  const store = new InMemoryClusterStore();
  let reconciler: Reconciler | undefined;

  beforeAll(async () => {
    lab = await createLab({ name: 'swarm3', nodes: 3, docker: true, image: true, lan: true });
  }, 120_000);
  afterAll(async () => {
    await reconciler?.stop();
    await lab?.destroy();
  }, 120_000);

  it('forms: all Ready, 3 managers, labels set, bound to the cluster addresses', async () => {
    reconciler = await form(lab, store);
    const s = await status({ docker: lab.nodes[0]?.docker() as never });
    expect(s.nodes?.map((n) => [n.hostname, n.role, n.state, n.address])).toEqual(
      lab.nodes.map((n) => [n.hostname, 'manager', 'ready', n.lanAddress]),
    );
    expect(s.quorum).toMatchObject({ managers: 3, reachable: 3, healthy: true });
    const arch = (await docker(lab.nodes[0] as LabNode, ['info', '--format', '{{.Architecture}}'])).stdout.trim();
    expect(s.nodes?.map((n) => n.labels)).toEqual([
      { 'cluster-lab.role': 'leader', 'cluster-lab.arch': arch, zone: 'lab' },
      { 'cluster-lab.role': 'follower', 'cluster-lab.arch': arch, zone: 'lab' },
      { 'cluster-lab.role': 'follower', 'cluster-lab.arch': arch, zone: 'lab' },
    ]);
    // The Docker API stays on its unix socket; swarm listens on the cluster address only.
    const listening = (await (lab.nodes[0] as LabNode).exec('ss', ['-Htln'])).stdout;
    expect(listening).toContain(`${lab.nodes[0]?.lanAddress}:2377`);
    expect(listening).not.toMatch(/:237[56]\b/);
  }, 120_000);

  it('Use Case 1: busybox httpd on node2 fetched by name from a container on node3 over an attachable overlay', async () => {
    const [n1, , n3] = lab.nodes as [LabNode, LabNode, LabNode];
    await docker(n1, ['network', 'create', '--driver', 'overlay', '--attachable', 'uc1']);
    await docker(n1, [
      'service',
      'create',
      '--detach',
      '--name',
      'web',
      '--network',
      'uc1',
      '--endpoint-mode',
      'dnsrr',
      '--constraint',
      'node.hostname==node2',
      '--no-resolve-image',
      BUSYBOX_IMAGE,
      'sh',
      '-c',
      'mkdir -p /www && echo "hello from $(hostname) on node2" > /www/index.html && exec httpd -f -p 80 -h /www',
    ]);
    await expect
      .poll(
        async () =>
          (await docker(n1, ['service', 'ps', 'web', '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}']))
            .stdout,
        {
          timeout: 60_000,
          interval: 500,
        },
      )
      .toMatch(/^node2 Running/);
    let page = '';
    await expect
      .poll(
        async () => {
          const r = await n3.exec(
            'docker',
            ['-H', `unix://${n3.dockerSocket}`, 'run', '--rm', '--network', 'uc1', BUSYBOX_IMAGE, 'wget', '-q', '-O-', 'http://web:80/'],
            {
              timeoutMs: 30_000,
              reject: false,
            },
          );
          page = r.stdout;
          return r.exitCode;
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toBe(0);
    expect(page).toMatch(/^hello from [0-9a-f]+ on node2\n$/);
    await docker(n1, ['service', 'rm', 'web']);
  }, 180_000);

  it("kill -9 and restart of a follower's dockerd: Ready again, no duplicate node, join is a no-op", async () => {
    const n1 = lab.nodes[0] as LabNode;
    const n3 = lab.nodes[2] as LabNode;
    const before = (await status({ docker: n1.docker() })).nodes?.find((n) => n.hostname === 'node3');
    const pidFile = lab.state.dockerds.find((d) => d.node === 'node3')?.pidFile as string;
    const pid = await readPidFile(pidFile);
    expect(pid).toBeGreaterThan(1);
    // dockerd's containerd dies with it (parent-death signal) but not at once; a new dockerd
    // that still sees it alive waits for it and times out, so wait for it to be gone first.
    const containerdPid = Number((await readFile(`${n3.dir}/x/containerd/containerd.pid`, 'utf8')).trim());
    await killAndWait(pid as number, 5_000, 'SIGKILL');
    await expect.poll(() => isProcessAlive(containerdPid), { timeout: 10_000, interval: 50 }).toBe(false);
    // The orphaned containerd may linger as a zombie (nobody reaps it here); dockerd probes its
    // pid with kill(0), believes it alive and times out waiting for it — so drop the pid file.
    await rm(`${n3.dir}/x/containerd/containerd.pid`, { force: true });
    await startDockerd(n3.runner, dockerdPaths(n3.dir, lab.id, n3.name));
    const again = await join({
      docker: n3.docker(),
      store,
      advertiseAddr: n3.lanAddress as string,
      labels: { zone: 'lab' },
      timeoutMs: 60_000,
    });
    expect(again).toMatchObject({ alreadyMember: true, nodeId: before?.id });
    await expect
      .poll(async () => (await status({ docker: n1.docker() })).nodes?.filter((n) => n.hostname === 'node3').map((n) => [n.id, n.state]), {
        timeout: 60_000,
        interval: 500,
      })
      .toEqual([[before?.id, 'ready']]);
    expect((await status({ docker: n1.docker() })).nodes).toHaveLength(3);
    // Ready comes before the managers see node3 reachable again; the next test's leave needs it
    // (a manager steps down only while the others keep a quorum).
    await expect.poll(async () => (await status({ docker: n1.docker() })).quorum?.reachable, { timeout: 60_000, interval: 500 }).toBe(3);
  }, 120_000);

  it('leave/stop: docker info shows swarm inactive on every node', async () => {
    await reconciler?.stop();
    reconciler = undefined;
    await stopAll(lab, store);
    for (const node of lab.nodes) expect(await swarmState(node)).toBe('inactive');
  }, 120_000);

  it('docker_gwbridge: the leave removes the one the swarm init made, and keeps one that was there before', async () => {
    const [n1, n2] = lab.nodes as [LabNode, LabNode];
    const hasBridge = async (node: LabNode) => ({
      network: (await docker(node, ['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').includes('docker_gwbridge'),
      link: (await node.ip.listLinks()).some((l) => l.name === 'docker_gwbridge'),
    });
    // Docker leaves docker_gwbridge behind after a leave: a clean slate on node1, a user's own on node2.
    if ((await hasBridge(n1)).network) await docker(n1, ['network', 'rm', 'docker_gwbridge']);
    if (!(await hasBridge(n2)).network) await docker(n2, ['network', 'create', '--driver', 'bridge', 'docker_gwbridge']);
    const fresh = new InMemoryClusterStore();
    const init = await initManager({ docker: n1.docker(), store: fresh, advertiseAddr: n1.lanAddress as string });
    const joined = await join({ docker: n2.docker(), store: fresh, advertiseAddr: n2.lanAddress as string, labelTimeoutMs: 0 });
    expect([init.gatewayBridgeExisted, joined.gatewayBridgeExisted]).toEqual([false, true]);
    await expect.poll(() => hasBridge(n1), { timeout: 30_000, interval: 200 }).toEqual({ network: true, link: true });
    await leave({ docker: n2.docker(), store: fresh, removeGatewayBridge: !joined.gatewayBridgeExisted });
    const last = await leave({ docker: n1.docker(), store: fresh, removeGatewayBridge: !init.gatewayBridgeExisted });
    expect(last).toMatchObject({ lastManager: true, removedGatewayBridge: true });
    expect(await hasBridge(n1)).toEqual({ network: false, link: false });
    expect((await hasBridge(n2)).network).toBe(true);
    // The bridge this test created for "the user" stays with the lab's dockerd (destroyed with the
    // lab): Docker can hold the left swarm's ingress sandbox on it for a long time.
  }, 120_000);
});

describe.skipIf(skipUnlessRoot())('swarm on a 5-node lab', () => {
  let lab: Lab;
  const store = new InMemoryClusterStore();
  let reconciler: Reconciler | undefined;

  beforeAll(async () => {
    lab = await createLab({ name: 'swarm5', nodes: 5, docker: true, lan: true });
  }, 120_000);
  afterAll(async () => {
    await reconciler?.stop();
    await lab?.destroy();
  }, 120_000);

  it('simultaneous joins: all 5 Ready, exactly 3 managers, labels set', async () => {
    reconciler = await form(lab, store);
    const s = await status({ docker: (lab.nodes[0] as LabNode).docker() });
    expect(s.nodes).toHaveLength(5);
    expect(s.nodes?.every((n) => n.state === 'ready')).toBe(true);
    expect(s.nodes?.filter((n) => n.role === 'manager')).toHaveLength(3);
    expect(s.nodes?.map((n) => n.labels['cluster-lab.role'])).toEqual(['leader', 'follower', 'follower', 'follower', 'follower']);
    expect(s.nodes?.every((n) => n.labels.zone === 'lab' && n.labels['cluster-lab.arch'])).toBe(true);
  }, 120_000);

  it('a worker that leaves and re-joins gets one entry, not two', async () => {
    const n1 = lab.nodes[0] as LabNode;
    const worker = (await status({ docker: n1.docker() })).nodes?.find((n) => n.role === 'worker');
    const node = lab.node(worker?.hostname as string);
    await leave({ docker: node.docker(), store });
    const again = await join({ docker: node.docker(), store, advertiseAddr: node.lanAddress as string, labels: { zone: 'lab' } });
    expect(again.nodeId).not.toBe(worker?.id);
    await expect
      .poll(async () => (await status({ docker: n1.docker() })).nodes?.filter((n) => n.hostname === node.hostname).map((n) => n.id), {
        timeout: 30_000,
        interval: 300,
      })
      .toEqual([again.nodeId]);
  }, 120_000);

  it('a worker removed by a manager (`docker node rm --force`) re-joins cleanly', async () => {
    const n1 = lab.nodes[0] as LabNode;
    const worker = (await status({ docker: n1.docker() })).nodes?.find((n) => n.role === 'worker');
    const node = lab.node(worker?.hostname as string);
    await docker(n1, ['node', 'rm', '--force', worker?.id as string]);
    const again = await join({
      docker: node.docker(),
      store,
      advertiseAddr: node.lanAddress as string,
      labels: { zone: 'lab' },
      timeoutMs: 60_000,
    });
    expect(again).toMatchObject({ alreadyMember: false, labelsApplied: true });
    await expect
      .poll(
        async () => (await status({ docker: n1.docker() })).nodes?.filter((n) => n.hostname === node.hostname).map((n) => [n.id, n.state]),
        { timeout: 30_000, interval: 300 },
      )
      .toEqual([[again.nodeId, 'ready']]);
  }, 120_000);

  it('stop: every node inactive', async () => {
    await reconciler?.stop();
    reconciler = undefined;
    await stopAll(lab, store);
    for (const node of lab.nodes) expect(await swarmState(node)).toBe('inactive');
  }, 120_000);
});
