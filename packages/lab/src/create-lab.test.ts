import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { FakeRunner, type RunOptions, readSecretFile } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLab } from './create-lab.js';
import type { LabState } from './lab-state.js';

function fakeHost(): FakeRunner {
  return new FakeRunner()
    .on('ip', () => true, {})
    .on('unshare', () => true, {})
    .on('umount', () => true, {});
}

/** The `ip … -batch -` calls so far: command line and the commands fed on stdin. */
function batches(runner: FakeRunner): { command: string; lines: string[] }[] {
  return runner.calls
    .filter((c) => c.file === 'ip' && c.args.includes('-batch'))
    .map((c) => ({ command: c.command, lines: ((c.options as RunOptions).input ?? '').trimEnd().split('\n') }));
}

describe('createLab (fake runner)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(`${tmpdir()}/lab-unit-`);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes one cluster secret per lab (mode 0600) in its state dir', async () => {
    const [a, b] = await Promise.all([
      createLab({ name: 'unit', nodes: 1, runner: fakeHost(), stateRoot: root, suffix: 'seca1' }),
      createLab({ name: 'unit', nodes: 1, runner: fakeHost(), stateRoot: root, suffix: 'secb2' }),
    ]);
    expect(a.secretFile).toBe(`${a.stateDir}/secret`);
    expect((await stat(a.secretFile)).mode & 0o777).toBe(0o600);
    const [sa, sb] = await Promise.all([readSecretFile(a.secretFile), readSecretFile(b.secretFile)]);
    expect(sa.equals(sb)).toBe(false);
  });

  it('creates namespaces, the switch and each node with three ip batches plus one per node', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'unit', nodes: 2, runner, stateRoot: root, suffix: 'abcde' });
    const sub = lab.lan?.subnet.replace(/\.0\/24$/, '') ?? '';
    const [n1, n2] = lab.nodes;
    expect(n1?.mac).toMatch(/^02:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}:00:01$/);
    expect(n2?.mac).toBe(`${n1?.mac.slice(0, 11)}:00:02`);
    expect(batches(runner)).toEqual([
      { command: 'ip -batch -', lines: ['netns add cl-unit-abcde-sw', 'netns add cl-unit-abcde-n1', 'netns add cl-unit-abcde-n2'] },
      {
        command: 'ip -n cl-unit-abcde-sw -batch -',
        lines: [
          'link add br0 type bridge',
          'link set dev br0 up',
          `link add e1 type veth peer name eth0 address ${n1?.mac} netns cl-unit-abcde-n1`,
          'link set dev e1 master br0 up',
          `link add e2 type veth peer name eth0 address ${n2?.mac} netns cl-unit-abcde-n2`,
          'link set dev e2 master br0 up',
        ],
      },
      {
        command: 'ip -n cl-unit-abcde-n1 -batch -',
        lines: ['link set dev lo up', 'link set dev eth0 up', `address add ${sub}.11/24 dev eth0`],
      },
      {
        command: 'ip -n cl-unit-abcde-n2 -batch -',
        lines: ['link set dev lo up', 'link set dev eth0 up', `address add ${sub}.12/24 dev eth0`],
      },
    ]);
    // Hostnames are set in parallel (after a file write each): their order is not fixed.
    expect(
      runner
        .commands()
        .filter((c) => c.startsWith('unshare'))
        .sort(),
    ).toEqual([`unshare --uts=${root}/unit-abcde/node1/uts hostname node1`, `unshare --uts=${root}/unit-abcde/node2/uts hostname node2`]);
    expect(runner.calls).toHaveLength(6);
    expect(lab.nodes.map((n) => [n.name, n.hostname, n.netns, n.lanAddress])).toEqual([
      ['node1', 'node1', 'cl-unit-abcde-n1', `${sub}.11`],
      ['node2', 'node2', 'cl-unit-abcde-n2', `${sub}.12`],
    ]);
    expect(lab.lan?.subnet).toMatch(/^10\.\d+\.\d+\.0\/24$/);
    expect(lab.router).toBeUndefined();
    await lab.destroy();
  });

  it('writes the full plan to the state file before creating anything', async () => {
    const runner = fakeHost();
    let planned: LabState | undefined;
    runner.on('ip', ['-batch', '-'], async () => {
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
    const n1 = lab.node('node1');
    const [netns, sw, node, router] = batches(runner);
    expect(netns?.lines).toEqual(['netns add cl-nic-abcde-sw', 'netns add cl-nic-abcde-n1', 'netns add cl-nic-abcde-rt']);
    expect(sw?.lines).toEqual([
      'link add br0 type bridge',
      'link set dev br0 up',
      'link add br1 type bridge',
      'link set dev br1 up',
      `link add e1 type veth peer name eth0 address ${n1.mac} netns cl-nic-abcde-n1`,
      'link set dev e1 master br0 up',
      `link add c1 type veth peer name eth1 address ${n1.clusterNicMac} netns cl-nic-abcde-n1`,
      'link set dev c1 master br1 up',
      `link add r0 type veth peer name eth0 address ${lab.router?.mac} netns cl-nic-abcde-rt`,
      'link set dev r0 master br0 up',
    ]);
    expect(node?.lines).toEqual([
      'link set dev lo up',
      'link set dev eth0 up',
      `address add ${n1.lanAddress}/24 dev eth0`,
      'link set dev eth1 up',
    ]);
    expect(router).toEqual({
      command: 'ip -n cl-nic-abcde-rt -batch -',
      lines: ['link set dev lo up', 'link set dev eth0 up', `address add ${lab.lan?.routerAddress}/24 dev eth0`],
    });
    expect(runner.commands()).toContain(`unshare --uts=${root}/nic-abcde/router/uts hostname router`);
    expect(n1.clusterNicMac).toBe(`${n1.mac.slice(0, 11)}:01:01`);
    expect(lab.router?.mac).toBe(`${n1.mac.slice(0, 11)}:00:02`);
    expect(lab.router?.address).toBe(lab.lan?.routerAddress);
    expect(lab.router?.hostname).toBe('router');
    expect(lab.router?.netns).toBe('cl-nic-abcde-rt');
    await lab.destroy();
  });

  it('leaves eth0 without an address when lan is false', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'nolan', nodes: 1, lan: false, runner, stateRoot: root, suffix: 'abcde' });
    expect(
      batches(runner)
        .flatMap((b) => b.lines)
        .filter((l) => l.startsWith('address')),
    ).toEqual([]);
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

  it('destroys with one umount and one namespace batch, and a second destroy does nothing', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'down', nodes: 2, runner, stateRoot: root, suffix: 'abcde' });
    const before = runner.calls.length;
    await lab.destroy();
    expect(runner.commands().slice(before)).toEqual([
      `umount ${root}/down-abcde/node1/uts ${root}/down-abcde/node2/uts`,
      'ip -force -batch -',
    ]);
    expect(batches(runner).at(-1)?.lines).toEqual([
      'netns del cl-down-abcde-sw',
      'netns del cl-down-abcde-n1',
      'netns del cl-down-abcde-n2',
    ]);
    expect(existsSync(`${root}/down-abcde`)).toBe(false);
    const after = runner.calls.length;
    await lab.destroy();
    await lab[Symbol.asyncDispose]();
    expect(runner.calls.length).toBe(after);
  });

  it('removes what it created when a step fails half-way, and says which lab failed', async () => {
    const runner = fakeHost().on('ip', ['-n', 'cl-fail-abcde-sw', '-batch', '-'], {
      exitCode: 2,
      stderr: 'RTNETLINK answers: Operation not permitted\nCommand failed -:5',
    });
    const error = await createLab({ name: 'fail', nodes: 2, runner, stateRoot: root, suffix: 'abcde' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'LAB_CREATE_FAILED',
      message: expect.stringMatching(/lab "fail-abcde".*Operation not permitted/s),
    });
    expect(batches(runner).at(-1)?.lines).toContain('netns del cl-fail-abcde-n2');
    expect(runner.commands().at(-2)).toContain(`${root}/fail-abcde/node1/uts`);
    expect(existsSync(`${root}/fail-abcde`)).toBe(false);
  });

  it('treats namespaces and mounts that are already gone as removed', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'gone', nodes: 1, runner, stateRoot: root, suffix: 'abcde' });
    runner
      .on('ip', ['-force', '-batch', '-'], {
        exitCode: 1,
        stderr: 'Cannot remove namespace file "/run/netns/x": No such file or directory',
      })
      .on('umount', () => true, { exitCode: 32, stderr: 'umount: /x: not mounted.' });
    await expect(lab.destroy()).resolves.toBeUndefined();
  });

  it('reports what it could not remove, after trying everything else', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'stuck', nodes: 1, runner, stateRoot: root, suffix: 'abcde' });
    runner
      .on('umount', () => true, { exitCode: 32, stderr: 'umount: target is busy.' })
      .on('umount', { prefix: ['--lazy'] }, { exitCode: 32, stderr: 'umount: permission denied' });
    await expect(lab.destroy()).rejects.toMatchObject({
      code: 'LAB_DESTROY_FAILED',
      message: expect.stringMatching(/lab "stuck-abcde".*unmount.*permission denied/s),
    });
    expect(runner.commands().at(-1)).toBe('ip -force -batch -');
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
