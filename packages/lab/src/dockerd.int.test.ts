import { killAndWait, readPidFile } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, copyImage } from './busybox-image.js';
import { createLab } from './create-lab.js';
import { containerdPid, dockerdPaths, pingDocker, startDockerd } from './dockerd.js';
import type { Lab } from './lab.js';

describe.skipIf(skipUnlessRoot())('per-node dockerd with the busybox image', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ name: 'labdock', nodes: 2, docker: true, image: true });
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
  }, 60_000);

  it('runs one dockerd per node, each reporting the node hostname', async () => {
    const infos = await Promise.all(lab.nodes.map((n) => n.docker().info() as Promise<{ Name: string }>));
    expect(infos.map((i) => i.Name)).toEqual(['node1', 'node2']);
  });

  it('runs a container from the imported image in each node with --network none', async () => {
    for (const node of lab.nodes) {
      const result = await node.exec('docker', [
        '-H',
        `unix://${node.dockerSocket}`,
        'run',
        '--rm',
        '--network',
        'none',
        BUSYBOX_IMAGE,
        'sh',
        '-c',
        'echo hello from $(hostname -s)',
      ]);
      expect(result.stdout).toMatch(/^hello from /);
    }
  });

  it('copies an image from one dockerd to another (docker save | docker load)', async () => {
    const [n1, n2] = [lab.node('node1'), lab.node('node2')];
    await n1.docker().getImage(BUSYBOX_IMAGE).tag({ repo: 'cluster-lab/copied', tag: 'v1' });
    await copyImage(n1.docker(), n2.docker(), 'cluster-lab/copied:v1');
    const inspected = await n2.docker().getImage('cluster-lab/copied:v1').inspect();
    expect(inspected.RepoTags).toContain('cluster-lab/copied:v1');
  });

  // A containerd whose dockerd was SIGKILLed is often still shutting down when the new dockerd
  // starts; reusing it made dockerd give up after ~10 s ("timeout waiting for containerd").
  it('starts again right after its dockerd was killed with SIGKILL, every time', async () => {
    const node = lab.node('node2');
    const paths = dockerdPaths(node.dir, lab.id, node.name);
    for (let round = 0; round < 5; round++) {
      const pid = await readPidFile(paths.pidFile);
      expect(pid).toBeDefined();
      expect(await containerdPid(paths.execRoot)).toBeDefined();
      await killAndWait(pid as number, 5_000, 'SIGKILL');
      await startDockerd(node.runner, paths, { timeoutMs: 8_000 });
      expect(await pingDocker(paths.socket)).toBe(true);
    }
  }, 60_000);
});
