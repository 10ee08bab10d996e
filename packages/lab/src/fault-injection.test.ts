import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { FakeRunner, type RunOptions } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLab } from './create-lab.js';
import { cgroupPids, switchPortsOf } from './fault-injection.js';

function fakeHost(): FakeRunner {
  // The last matching script wins: the bridge listing comes after the catch-all.
  return new FakeRunner()
    .on('ip', () => true, {})
    .on('ip', (args) => args.includes('show') && args.includes('bridge'), {
      stdout: JSON.stringify([{ ifname: 'br0' }, { ifname: 'br1' }, { ifname: 'pb1' }, { ifname: 'pc1' }]),
    })
    .on('unshare', () => true, {})
    .on('umount', () => true, {});
}

/** The `ip -n <switch> -batch -` lines sent after lab creation. */
function switchBatches(runner: FakeRunner, from: number): string[][] {
  return runner.calls
    .slice(from)
    .filter((c) => c.file === 'ip' && c.args.includes('-batch'))
    .map((c) => ((c.options as RunOptions).input ?? '').trimEnd().split('\n'));
}

describe('fault injection (fake runner)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(`${tmpdir()}/lab-fault-`);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('knows each node’s switch ports: the LAN port and, with a cluster switch, the cluster port', async () => {
    const lab = await createLab({ name: 'unit', nodes: 2, clusterNic: true, runner: fakeHost(), stateRoot: root, suffix: 'fault' });
    expect(switchPortsOf(lab, lab.node('node2'))).toEqual(['e2', 'c2']);
    const plain = await createLab({ name: 'unit', nodes: 1, runner: fakeHost(), stateRoot: root, suffix: 'plain' });
    expect(switchPortsOf(plain, plain.node('node1'))).toEqual(['e1']);
  });

  it('unplug and plug set the node’s switch ports down and up, in the switch namespace', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'unit', nodes: 3, clusterNic: true, runner, stateRoot: root, suffix: 'plugs' });
    const before = runner.calls.length;
    await lab.unplug('node2');
    await lab.plug(lab.node('node2'));
    const calls = runner.calls.slice(before);
    expect(calls.map((c) => c.args.slice(0, 2))).toEqual([
      ['-n', lab.switchNetns],
      ['-n', lab.switchNetns],
    ]);
    expect(switchBatches(runner, before)).toEqual([
      ['link set dev e2 down', 'link set dev c2 down'],
      ['link set dev e2 up', 'link set dev c2 up'],
    ]);
  });

  it('partition moves the later groups’ ports to their own bridges; heal moves every port back and deletes them', async () => {
    const runner = fakeHost();
    const lab = await createLab({ name: 'unit', nodes: 3, clusterNic: true, runner, stateRoot: root, suffix: 'parts' });
    const before = runner.calls.length;
    await lab.partition([['node1'], ['node2', 'node3']]);
    const batches = switchBatches(runner, before);
    // The first batch is the heal partition() starts with.
    expect(batches[1]).toEqual([
      'link add pb1 type bridge',
      'link set dev pb1 up',
      'link add pc1 type bridge',
      'link set dev pc1 up',
      'link set dev e2 master pb1',
      'link set dev c2 master pc1',
      'link set dev e3 master pb1',
      'link set dev c3 master pc1',
    ]);
    const mark = runner.calls.length;
    await lab.heal();
    expect(switchBatches(runner, mark)).toEqual([
      [
        'link set dev e1 master br0',
        'link set dev c1 master br1',
        'link set dev e2 master br0',
        'link set dev c2 master br1',
        'link set dev e3 master br0',
        'link set dev c3 master br1',
        'link del pb1',
        'link del pc1',
      ],
    ]);
  });

  it('rejects a node of another lab', async () => {
    const a = await createLab({ name: 'unit', nodes: 1, runner: fakeHost(), stateRoot: root, suffix: 'laba1' });
    const b = await createLab({ name: 'unit', nodes: 2, runner: fakeHost(), stateRoot: root, suffix: 'labb2' });
    const foreign = b.node('node2');
    expect(() => switchPortsOf(a, { ...foreign, switchPorts: undefined } as never)).toThrow(/is not a node of lab "unit-laba1"/);
  });

  it('cgroupPids collects the pids of a cgroup tree and is empty for a cgroup that does not exist', async () => {
    expect(await cgroupPids('/cl-no-such-lab-node')).toEqual([]);
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(`${root}/cg/parent/child`, { recursive: true });
    await writeFile(`${root}/cg/parent/cgroup.procs`, '12\n13\n');
    await writeFile(`${root}/cg/parent/child/cgroup.procs`, '14\n');
    expect((await cgroupPids('/parent', `${root}/cg`)).sort()).toEqual([12, 13, 14]);
  });
});
