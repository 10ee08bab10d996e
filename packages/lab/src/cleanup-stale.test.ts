import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { FakeRunner, type RunOptions } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupStale } from './cleanup-stale.js';
import { currentOwner, isOwnerAlive, type LabState, processStartTime, writeLabState } from './lab-state.js';

function state(root: string, id: string, owner: LabState['owner']): LabState {
  return {
    version: 1,
    id,
    name: id.split('-')[0] as string,
    owner,
    createdAt: new Date().toISOString(),
    stateDir: `${root}/${id}`,
    netns: [`cl-${id}-sw`, `cl-${id}-n1`],
    utsFiles: [`${root}/${id}/node1/uts`],
    dockerds: [],
  };
}

describe('cleanupStale', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(`${tmpdir()}/lab-stale-`);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('removes labs whose owner is gone and keeps labs of live processes', async () => {
    const me = await currentOwner();
    const live = state(root, 'live-aaaaa', me);
    // Same pid, other start time: the pid was reused after the owner died.
    const reused = state(root, 'reused-bbbbb', { pid: me.pid, startTime: `${me.startTime}9` });
    const dead = state(root, 'dead-ccccc', { pid: 2 ** 22 + 7, startTime: '1' });
    for (const s of [live, reused, dead]) {
      await mkdir(s.stateDir, { recursive: true });
      await writeLabState(s);
    }
    const runner = new FakeRunner().on('ip', () => true, {}).on('umount', () => true, {});
    const removed = await cleanupStale({ runner, stateRoot: root });
    expect(removed.sort()).toEqual(['dead-ccccc', 'reused-bbbbb']);
    const deleted = runner.calls
      .filter((c) => c.command === 'ip -force -batch -')
      .flatMap((c) => ((c.options as RunOptions).input ?? '').trimEnd().split('\n'))
      .sort();
    expect(deleted).toEqual([
      'netns del cl-dead-ccccc-n1',
      'netns del cl-dead-ccccc-sw',
      'netns del cl-reused-bbbbb-n1',
      'netns del cl-reused-bbbbb-sw',
    ]);
    expect(runner.commands()).toContain(`umount ${dead.utsFiles[0]}`);
    expect(runner.commands().some((c) => c.includes('live-aaaaa'))).toBe(false);
    expect(existsSync(live.stateDir)).toBe(true);
    expect(existsSync(dead.stateDir)).toBe(false);
  });

  it('removes an old state dir without a state file but leaves a fresh one (it may be being created)', async () => {
    await mkdir(`${root}/old-ddddd`);
    await mkdir(`${root}/new-eeeee`);
    const past = new Date(Date.now() - 120_000);
    await utimes(`${root}/old-ddddd`, past, past);
    const removed = await cleanupStale({ runner: new FakeRunner(), stateRoot: root });
    expect(removed).toEqual(['old-ddddd']);
    expect(existsSync(`${root}/new-eeeee`)).toBe(true);
  });

  it('goes on with the other stale labs when one cannot be removed, then reports it', async () => {
    for (const id of ['stuck-aaaaa', 'fine-bbbbb']) {
      const s = state(root, id, { pid: 2 ** 22 + 7, startTime: '1' });
      await mkdir(s.stateDir, { recursive: true });
      await writeLabState(s);
    }
    const runner = new FakeRunner()
      .on('ip', () => true, {})
      .on('umount', () => true, {})
      .on('umount', [`${root}/stuck-aaaaa/node1/uts`], { exitCode: 32, stderr: 'umount: target is busy.' })
      .on('umount', ['--lazy', `${root}/stuck-aaaaa/node1/uts`], { exitCode: 32, stderr: 'umount: permission denied' });
    const error = await cleanupStale({ runner, stateRoot: root }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'LAB_CLEANUP_FAILED',
      message: expect.stringMatching(/removed \[fine-bbbbb\].*stuck-aaaaa.*permission denied/s),
    });
    expect(existsSync(`${root}/fine-bbbbb`)).toBe(false);
  });

  it('does nothing when the state root does not exist', async () => {
    expect(await cleanupStale({ runner: new FakeRunner(), stateRoot: `${root}/absent` })).toEqual([]);
  });
});

describe('lab owner', () => {
  it('recognises the current process and rejects a dead pid', async () => {
    const me = await currentOwner();
    expect(me.startTime).toBe(await processStartTime(process.pid));
    expect(await isOwnerAlive(me)).toBe(true);
    expect(await isOwnerAlive({ pid: 2 ** 22 + 7, startTime: '1' })).toBe(false);
  });
});
