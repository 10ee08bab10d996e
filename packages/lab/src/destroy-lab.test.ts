import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { FakeRunner } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteNetns, killNetnsProcesses, mountsBelow, unmount, unmountAll } from './destroy-lab.js';

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

  it('never signals the processes of its own namespace, even if a lab names it', async () => {
    // A symlink to our own namespace stands in for a lab namespace file that points at it.
    await mkdir(`${dir}/netns`);
    await symlink('/proc/self/ns/net', `${dir}/netns/own`);
    expect(await killNetnsProcesses(['own'], `${dir}/netns`)).toEqual([]);
  });

  it('signals nothing when none of the namespaces exists', async () => {
    // The positive case needs a real namespace: see the integration tests (a process left in a node is stopped by destroy).
    expect(await killNetnsProcesses(['absent-1', 'absent-2'], `${dir}/netns`)).toEqual([]);
  });

  it('deletes namespaces in one forced batch and names those still present', async () => {
    const runner = new FakeRunner().on('ip', ['-force', '-batch', '-'], { exitCode: 1, stderr: 'Command failed -:2' });
    await mkdir(`${dir}/netns`);
    await writeFile(`${dir}/netns/b`, '');
    await expect(deleteNetns(runner, ['a', 'b'], `${dir}/netns`)).rejects.toThrow(/namespaces b are still there: Command failed -:2/);
    expect(runner.calls[0]?.options).toMatchObject({ input: 'netns del a\nnetns del b\n' });
    await rm(`${dir}/netns/b`);
    await expect(deleteNetns(runner, ['a', 'b'], `${dir}/netns`)).resolves.toBeUndefined();
  });

  it('unmounts all paths in one call and retries one by one when that fails', async () => {
    const ok = new FakeRunner().on('umount', () => true, {});
    await unmountAll(ok, ['/a/b', '/a']);
    expect(ok.commands()).toEqual(['umount /a/b /a']);
    const partly = new FakeRunner()
      .on('umount', ['/a/b', '/a'], { exitCode: 32, stderr: 'umount: /a/b: not mounted.' })
      .on('umount', ['/a/b'], { exitCode: 32, stderr: 'umount: /a/b: not mounted.' })
      .on('umount', ['/a'], {});
    await unmountAll(partly, ['/a/b', '/a']);
    expect(partly.commands()).toEqual(['umount /a/b /a', 'umount /a/b', 'umount /a']);
  });
});
