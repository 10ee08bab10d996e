import { ExecaRunner, type SpawnedProcess } from '@cluster-lab/core';
import { skipUnlessRoot, uniqueSuffix } from '@cluster-lab/core/testing';
import { describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from './busybox-image.js';
import { createLab } from './create-lab.js';
import { snapshotHost } from './host-snapshot.js';

const runner = new ExecaRunner();

describe.skipIf(skipUnlessRoot())('destroy leaves the host as it found it', () => {
  it('after a full lab with dockerd, containers, router and cluster NIC', async () => {
    const name = `snap${uniqueSuffix()}`;
    const before = await snapshotHost(runner, name);
    const lab = await createLab({ name, nodes: 2, docker: true, image: true, router: true, clusterNic: true });
    try {
      for (const node of lab.nodes) {
        await node.exec('docker', ['-H', `unix://${node.dockerSocket}`, 'run', '-d', '--network', 'none', BUSYBOX_IMAGE, 'sleep', '300']);
      }
      const during = await snapshotHost(runner, name);
      // The snapshot sees the lab: otherwise an equal "after" would prove nothing.
      expect(during.netns).toHaveLength(4);
      expect(during.mounts.length).toBeGreaterThanOrEqual(3);
      expect(during.processes.some((p) => p.startsWith('dockerd '))).toBe(true);
      expect(during.processes.some((p) => p.startsWith('containerd '))).toBe(true);
      expect(during.cgroups.length).toBeGreaterThan(0);
    } finally {
      await lab.destroy();
    }
    expect(await snapshotHost(runner, name)).toEqual(before);
  });

  it('after a test body that throws midway (await using)', async () => {
    const name = `snap${uniqueSuffix()}`;
    const before = await snapshotHost(runner, name);
    let leftover: SpawnedProcess | undefined;
    const body = async (): Promise<void> => {
      await using lab = await createLab({ name, nodes: 2, docker: true });
      // A process the test "forgot" inside a node: destroy must stop it too.
      leftover = await lab.nodes[0]?.spawn('sleep', ['300']);
      throw new Error('boom in the middle of a test');
    };
    await expect(body()).rejects.toThrow('boom in the middle of a test');
    expect(await leftover?.exited).toMatchObject({ signal: 'SIGTERM' });
    expect(await snapshotHost(runner, name)).toEqual(before);
  });

  it('after createLab fails half-way, with the dockerd log tail in the error', async () => {
    const name = `snap${uniqueSuffix()}`;
    const before = await snapshotHost(runner, name);
    const error = await createLab({ name, nodes: 2, docker: true, dockerdArgs: ['--no-such-flag'] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LAB_DOCKERD_NOT_READY', message: expect.stringContaining('unknown flag: --no-such-flag') });
    expect(await snapshotHost(runner, name)).toEqual(before);
  });
});
