import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { FakeRunner } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupStale } from './cleanup-stale.js';
import { createLab } from './create-lab.js';
import { readLabState, writeLabState } from './lab-state.js';
import { destroyLab, listLabs, openLab } from './open-lab.js';

function fakeHost(): FakeRunner {
  return new FakeRunner()
    .on('ip', () => true, {})
    .on(
      'ip',
      (args) => args.includes('show') && args.includes('dev'),
      (call) => ({
        stdout: JSON.stringify([{ ifindex: 2, ifname: call.args.at(-1), mtu: 1500, address: '02:00:00:00:00:0a', flags: ['UP'] }]),
      }),
    )
    .on('ip', (args) => args.includes('address') && args.includes('show'), { stdout: '[]' })
    .on('unshare', () => true, {})
    .on('umount', () => true, {});
}

describe('persistent labs: openLab, listLabs, destroyLab', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(`${tmpdir()}/lab-open-`);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('rebuilds the same handle from the state file, by id or by unique name', async () => {
    const runner = fakeHost();
    const created = await createLab({ name: 'up', nodes: 2, router: true, persistent: true, runner, stateRoot: root, suffix: 'abcde' });
    for (const ref of ['up-abcde', 'up']) {
      const opened = await openLab(ref, { runner, stateRoot: root });
      if (!opened) throw new Error(`openLab(${ref}) found nothing`);
      expect(opened.id).toBe('up-abcde');
      expect(opened.lan).toEqual(created.lan);
      expect(opened.switchNetns).toBe(created.switchNetns);
      expect(opened.nodes.map((n) => [n.name, n.netns, n.mac, n.lanAddress, n.utsFile])).toEqual(
        created.nodes.map((n) => [n.name, n.netns, n.mac, n.lanAddress, n.utsFile]),
      );
      expect(opened.router?.address).toBe(created.router?.address);
    }
    expect(await listLabs({ stateRoot: root })).toEqual([
      expect.objectContaining({
        id: 'up-abcde',
        name: 'up',
        nodes: ['node1', 'node2'],
        persistent: true,
        ownerAlive: true,
        complete: true,
      }),
    ]);
  });

  it('is never removed by cleanupStale, only by destroyLab (which is idempotent)', async () => {
    const runner = fakeHost();
    await createLab({ name: 'keep', nodes: 1, persistent: true, runner, stateRoot: root, suffix: 'abcde' });
    expect((await readLabState(`${root}/keep-abcde`))?.owner).toBeNull();
    expect(await cleanupStale({ runner, stateRoot: root })).toEqual([]);
    expect(await destroyLab('keep', { runner, stateRoot: root })).toBe(true);
    expect(runner.calls.at(-1)).toMatchObject({
      command: 'ip -force -batch -',
      options: { input: expect.stringContaining('netns del cl-keep-abcde-n1\n') },
    });
    expect(existsSync(`${root}/keep-abcde`)).toBe(false);
    expect(await destroyLab('keep', { runner, stateRoot: root })).toBe(false);
  });

  it('answers undefined for a missing lab and explains an ambiguous or half-created one', async () => {
    const runner = fakeHost();
    expect(await openLab('nope', { runner, stateRoot: root })).toBeUndefined();
    await createLab({ name: 'twin', nodes: 1, runner, stateRoot: root, suffix: 'aaaaa' });
    await createLab({ name: 'twin', nodes: 1, runner, stateRoot: root, suffix: 'bbbbb' });
    await expect(openLab('twin', { runner, stateRoot: root })).rejects.toMatchObject({
      code: 'LAB_AMBIGUOUS',
      message: expect.stringContaining('twin-aaaaa, twin-bbbbb'),
    });
    await mkdir(`${root}/half-ccccc`);
    await writeLabState({
      version: 1,
      id: 'half-ccccc',
      name: 'half',
      owner: null,
      createdAt: new Date().toISOString(),
      stateDir: `${root}/half-ccccc`,
      netns: ['cl-half-ccccc-sw'],
      utsFiles: [],
      dockerds: [],
    });
    await expect(openLab('half-ccccc', { runner, stateRoot: root })).rejects.toMatchObject({ code: 'LAB_INCOMPLETE' });
    expect((await listLabs({ stateRoot: root })).find((l) => l.id === 'half-ccccc')).toMatchObject({ complete: false, nodes: [] });
  });
});
