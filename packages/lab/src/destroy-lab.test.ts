import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { FakeRunner } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteNetns, killNetnsProcesses, mountsBelow, unmount } from './destroy-lab.js';

describe('destroy helpers', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(`${tmpdir()}/lab-destroy-`);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds mounts strictly below a directory, decoding escaped characters', async () => {
    await writeFile(
      `${dir}/mountinfo`,
      [
        '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
        '90 27 0:4 uts:[4026532] /run/cluster-lab/lab/a-1/node1/uts rw - nsfs nsfs rw',
        '91 27 0:60 / /run/cluster-lab/lab/a-1/node1/docker/overlay2/x\\040y/merged rw - overlay overlay rw',
        '92 27 0:4 uts:[4026533] /run/cluster-lab/lab/a-10/node1/uts rw - nsfs nsfs rw',
        '93 27 0:4 / /run/cluster-lab/lab/a-1 rw - tmpfs tmpfs rw',
      ].join('\n'),
    );
    expect(await mountsBelow('/run/cluster-lab/lab/a-1', `${dir}/mountinfo`)).toEqual([
      '/run/cluster-lab/lab/a-1/node1/uts',
      '/run/cluster-lab/lab/a-1/node1/docker/overlay2/x y/merged',
    ]);
  });

  it('falls back to a lazy unmount when the mount is busy', async () => {
    const runner = new FakeRunner()
      .on('umount', ['/m'], { exitCode: 32, stderr: 'umount: /m: target is busy.' })
      .on('umount', ['--lazy', '/m'], {});
    await unmount(runner, '/m');
    expect(runner.commands()).toEqual(['umount /m', 'umount --lazy /m']);
  });

  it('lists the pids of a namespace and never signals itself', async () => {
    const runner = new FakeRunner().on('ip', ['netns', 'pids', 'cl-x-n1'], { stdout: `${process.pid}\n` });
    expect(await killNetnsProcesses(runner, 'cl-x-n1')).toEqual([]);
  });

  it('deletes a namespace and accepts one that is already gone', async () => {
    const runner = new FakeRunner()
      .on('ip', ['netns', 'del', 'a'], {})
      .on('ip', ['netns', 'del', 'b'], { exitCode: 1, stderr: 'Cannot remove namespace file "/run/netns/b": No such file or directory' });
    await deleteNetns(runner, 'a');
    await deleteNetns(runner, 'b');
    expect(runner.commands()).toEqual(['ip netns del a', 'ip netns del b']);
  });
});
