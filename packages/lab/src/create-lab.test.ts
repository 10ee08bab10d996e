import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { FakeRunner } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLab } from './create-lab.js';
import type { LabState } from './lab-state.js';

const MACS: Record<string, string> = { eth0: '02:00:00:00:00:0a', eth1: '02:00:00:00:00:0b' };

function fakeHost(): FakeRunner {
  return new FakeRunner()
    .on('ip', () => true, {})
    .on(
      'ip',
      (args) => args.includes('show') && args.includes('dev'),
      (call) => {
        const dev = call.args[call.args.length - 1] as string;
        return { stdout: JSON.stringify([{ ifindex: 2, ifname: dev, mtu: 1500, address: MACS[dev], flags: ['UP'] }]) };
      },
    )
    .on('ip', (args) => args.includes('address') && args.includes('show'), { stdout: '[]' })
    .on('unshare', () => true, {})
    .on('umount', () => true, {});
}

describe('createLab (fake runner)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(`${tmpdir()}/lab-unit-`);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates namespaces, the switch bridge and each node with the exact ip/unshare commands', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'unit', nodes: 2, runner, stateRoot: root, suffix: 'abcde' });
    const sub = lab.lan?.subnet.replace(/\.0\/24$/, '') ?? '';
    const cmds = runner.commands();
    expect(cmds.slice(0, 3)).toEqual(['ip netns add cl-unit-abcde-sw', 'ip netns add cl-unit-abcde-n1', 'ip netns add cl-unit-abcde-n2']);
    expect(cmds.slice(3, 5)).toEqual(['ip -n cl-unit-abcde-sw link add br0 type bridge', 'ip -n cl-unit-abcde-sw link set dev br0 up']);
    for (const i of [1, 2]) {
      const ns = `cl-unit-abcde-n${i}`;
      // The hostname (unshare) is set concurrently with the links: only its presence is fixed.
      expect(cmds).toContain(`unshare --uts=${root}/unit-abcde/node${i}/uts hostname node${i}`);
      const mine = cmds.slice(5).filter((c) => c.startsWith('ip ') && (c.includes(ns) || c.includes(` e${i} `) || c.endsWith(` e${i}`)));
      expect(mine).toEqual([
        `ip -n ${ns} link set dev lo up`,
        `ip -n cl-unit-abcde-sw link add e${i} type veth peer name eth0 netns ${ns}`,
        `ip -n cl-unit-abcde-sw link set dev e${i} master br0`,
        `ip -n cl-unit-abcde-sw link set dev e${i} up`,
        `ip -n ${ns} link set dev eth0 up`,
        `ip -n ${ns} -j -d link show dev eth0`,
        `ip -n ${ns} -j address show dev eth0`,
        `ip -n ${ns} address add ${sub}.${10 + i}/24 dev eth0`,
      ]);
    }
    expect(cmds).toHaveLength(5 + 2 * 9);
    expect(lab.nodes.map((n) => [n.name, n.hostname, n.netns, n.mac, n.lanAddress])).toEqual([
      ['node1', 'node1', 'cl-unit-abcde-n1', MACS.eth0, `${sub}.11`],
      ['node2', 'node2', 'cl-unit-abcde-n2', MACS.eth0, `${sub}.12`],
    ]);
    expect(lab.lan?.subnet).toMatch(/^10\.\d+\.\d+\.0\/24$/);
    expect(lab.router).toBeUndefined();
    await lab.destroy();
  });

  it('writes the full plan to the state file before creating anything', async () => {
    const runner = fakeHost();
    let planned: LabState | undefined;
    runner.on('ip', ['netns', 'add', 'cl-plan-abcde-sw'], async () => {
      planned = JSON.parse(await readFile(`${root}/plan-abcde/state.json`, 'utf8')) as LabState;
      return {};
    });
    const lab = await createLab({
      name: 'plan',
      nodes: 1,
      docker: true,
      runner,
      stateRoot: root,
      suffix: 'abcde',
      dockerdTimeoutMs: 1,
    }).catch((e: unknown) => e);
    expect(lab).toMatchObject({ code: 'LAB_DOCKERD_NOT_READY' });
    expect(planned).toMatchObject({
      id: 'plan-abcde',
      owner: { pid: process.pid },
      netns: ['cl-plan-abcde-sw', 'cl-plan-abcde-n1'],
      utsFiles: [`${root}/plan-abcde/node1/uts`],
      dockerds: [
        {
          node: 'node1',
          socket: `${root}/plan-abcde/node1/docker.sock`,
          pidFile: `${root}/plan-abcde/node1/dockerd.pid`,
          cgroupParent: '/cl-plan-abcde-node1',
        },
      ],
    });
  });

  it('adds eth1 on the cluster bridge and a router holding .1', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'nic', nodes: 1, router: true, clusterNic: true, runner, stateRoot: root, suffix: 'abcde' });
    const cmds = runner.commands();
    expect(cmds).toContain('ip netns add cl-nic-abcde-rt');
    expect(cmds).toContain('ip -n cl-nic-abcde-sw link add br1 type bridge');
    expect(cmds).toContain('ip -n cl-nic-abcde-sw link add c1 type veth peer name eth1 netns cl-nic-abcde-n1');
    expect(cmds).toContain('ip -n cl-nic-abcde-sw link set dev c1 master br1');
    expect(cmds).toContain('ip -n cl-nic-abcde-sw link add r0 type veth peer name eth0 netns cl-nic-abcde-rt');
    expect(cmds).toContain(`ip -n cl-nic-abcde-rt address add ${lab.lan?.routerAddress}/24 dev eth0`);
    expect(cmds).toContain(`unshare --uts=${root}/nic-abcde/router/uts hostname router`);
    expect(cmds.filter((c) => c.includes('cl-nic-abcde-rt') && c.includes('eth1'))).toEqual([]);
    expect(lab.nodes[0]?.clusterNicMac).toBe(MACS.eth1);
    expect(lab.router?.address).toBe(lab.lan?.routerAddress);
    expect(lab.router?.netns).toBe('cl-nic-abcde-rt');
    await lab.destroy();
  });

  it('leaves eth0 without an address when lan is false', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'nolan', nodes: 1, lan: false, runner, stateRoot: root, suffix: 'abcde' });
    expect(runner.commands().filter((c) => c.includes('address add'))).toEqual([]);
    expect(lab.lan).toBeUndefined();
    expect(lab.nodes[0]?.lanAddress).toBeUndefined();
    await lab.destroy();
  });

  it('runs node commands through nsenter into the node network and UTS namespaces', async () => {
    const runner = fakeHost().on('nsenter', () => true, { stdout: 'node1\n' });
    const lab = await createLab({ name: 'exec', nodes: 1, runner, stateRoot: root, suffix: 'abcde' });
    const node = lab.node('node1');
    expect((await node.exec('hostname', [])).stdout).toBe('node1\n');
    expect(runner.commands().at(-1)).toBe(`nsenter --net=/run/netns/cl-exec-abcde-n1 --uts=${root}/exec-abcde/node1/uts -- hostname`);
    expect(() => node.docker()).toThrow(expect.objectContaining({ code: 'LAB_NO_DOCKER' }));
    expect(node.dockerHost).toBeUndefined();
    expect(() => lab.node('node9')).toThrow(/no node "node9"/);
    await lab.destroy();
  });

  it('destroys in order: processes, mounts, namespaces, state dir — and a second destroy does nothing', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'down', nodes: 2, runner, stateRoot: root, suffix: 'abcde' });
    const before = runner.calls.length;
    await lab.destroy();
    expect(runner.commands().slice(before)).toEqual([
      'ip netns pids cl-down-abcde-sw',
      'ip netns pids cl-down-abcde-n1',
      'ip netns pids cl-down-abcde-n2',
      `umount ${root}/down-abcde/node1/uts`,
      `umount ${root}/down-abcde/node2/uts`,
      'ip netns del cl-down-abcde-sw',
      'ip netns del cl-down-abcde-n1',
      'ip netns del cl-down-abcde-n2',
    ]);
    expect(existsSync(`${root}/down-abcde`)).toBe(false);
    const after = runner.calls.length;
    await lab.destroy();
    await lab[Symbol.asyncDispose]();
    expect(runner.calls.length).toBe(after);
  });

  it('removes what it created when a step fails half-way, and says which lab failed', async () => {
    const runner = fakeHost().on(
      'ip',
      { prefix: ['-n', 'cl-fail-abcde-sw', 'link', 'add', 'e2'] },
      { exitCode: 2, stderr: 'RTNETLINK answers: Operation not permitted' },
    );
    const error = await createLab({ name: 'fail', nodes: 2, runner, stateRoot: root, suffix: 'abcde' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'LAB_CREATE_FAILED',
      message: expect.stringMatching(/lab "fail-abcde".*Operation not permitted/s),
    });
    expect(runner.commands()).toContain('ip netns del cl-fail-abcde-n2');
    expect(runner.commands()).toContain(`umount ${root}/fail-abcde/node1/uts`);
    expect(existsSync(`${root}/fail-abcde`)).toBe(false);
  });

  it('treats namespaces and mounts that are already gone as removed', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'gone', nodes: 1, runner, stateRoot: root, suffix: 'abcde' });
    runner
      .on(
        'ip',
        { prefix: ['netns', 'del'] },
        { exitCode: 1, stderr: 'Cannot remove namespace file "/run/netns/x": No such file or directory' },
      )
      .on('ip', { prefix: ['netns', 'pids'] }, { exitCode: 1, stderr: 'Cannot open network namespace' })
      .on('umount', () => true, { exitCode: 32, stderr: 'umount: /x: not mounted.' });
    await expect(lab.destroy()).resolves.toBeUndefined();
  });

  it('reports a namespace it cannot delete', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'stuck', nodes: 1, runner, stateRoot: root, suffix: 'abcde' });
    runner.on('ip', ['netns', 'del', 'cl-stuck-abcde-n1'], { exitCode: 1, stderr: 'Device or resource busy' });
    await expect(lab.destroy()).rejects.toMatchObject({
      code: 'LAB_DESTROY_FAILED',
      message: expect.stringContaining('delete netns cl-stuck-abcde-n1'),
    });
  });

  it('removes its state dir again when the planned socket path is too long', async () => {
    const deep = `${root}/${'d'.repeat(80)}`;
    const runner = new FakeRunner();
    await expect(createLab({ name: 'deep', nodes: 1, docker: true, runner, stateRoot: deep, suffix: 'abcde' })).rejects.toMatchObject({
      code: 'LAB_SOCKET_PATH_TOO_LONG',
    });
    expect(runner.calls).toEqual([]);
    expect(existsSync(`${deep}/deep-abcde`)).toBe(false);
  });

  it.each([
    [{ name: 'Bad_Name', nodes: 1 }, 'LAB_BAD_NAME'],
    [{ name: 'way-too-long-lab-name', nodes: 1 }, 'LAB_BAD_NAME'],
    [{ name: 'ok', nodes: 0 }, 'LAB_BAD_NODES'],
    [{ name: 'ok', nodes: 2.5 }, 'LAB_BAD_NODES'],
    [{ name: 'ok', nodes: 1, router: true, lan: false }, 'LAB_BAD_OPTIONS'],
    [{ name: 'ok', nodes: 1, image: true }, 'LAB_BAD_OPTIONS'],
  ])('rejects %o with %s before touching anything', async (options, code) => {
    const runner = new FakeRunner();
    await expect(createLab({ ...options, runner, stateRoot: root })).rejects.toMatchObject({ code, errorClass: 'usage' });
    expect(runner.calls).toEqual([]);
  });
});
