import { mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ExecaRunner, isProcessAlive, readPidFile } from '@cluster-lab/core';
import { skipUnlessRoot, uniqueSuffix } from '@cluster-lab/core/testing';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupStale } from './cleanup-stale.js';
import { createLab } from './create-lab.js';
import { snapshotHost } from './host-snapshot.js';

const runner = new ExecaRunner();
// Under the repository's node_modules so the bundle's bare imports (dockerode, execa) resolve.
const cacheDir = fileURLToPath(new URL('../../../node_modules/.cache/cluster-lab-lab/', import.meta.url));

async function waitForLine(file: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const line = text.split('\n').find((l) => l.startsWith('{'));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`child wrote no lab line within ${timeoutMs} ms:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skipUnlessRoot())('cleanupStale after a crash', () => {
  const suffix = uniqueSuffix();
  // A private state root: cleanupStale here must not even look at other tests' labs.
  const stateRoot = `/run/cluster-lab/t${suffix}`;
  const work = `${cacheDir}${suffix}`;

  afterAll(async () => {
    await cleanupStale({ stateRoot });
    await rm(stateRoot, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('removes the lab of a SIGKILLed process, dockerds included, and keeps the lab of a live one', async () => {
    const name = `crash${suffix}`;
    const before = await snapshotHost(runner, name);
    await mkdir(work, { recursive: true });
    await build({
      entryPoints: [fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url))],
      outfile: `${work}/crash-child.mjs`,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      conditions: ['source'],
      external: ['dockerode', 'execa', 'zod', 'yaml'],
      logLevel: 'silent',
    });
    const child = await runner.spawn(process.execPath, [`${work}/crash-child.mjs`, name, stateRoot], { logFile: `${work}/child.log` });
    const crashed = JSON.parse(await waitForLine(`${work}/child.log`, 60_000)) as { id: string; netns: string[]; pidFiles: string[] };
    const dockerdPids = await Promise.all(crashed.pidFiles.map((f) => readPidFile(f)));
    child.kill('SIGKILL');
    await child.exited;

    // The crash left the lab running: namespaces and dockerds outlive their owner.
    const netnsAfterCrash = (await runner.run('ip', ['netns', 'list'])).stdout;
    for (const ns of crashed.netns) expect(netnsAfterCrash).toContain(ns);
    for (const pid of dockerdPids) expect(pid !== undefined && (await isProcessAlive(pid))).toBe(true);

    const live = await createLab({ name: `live${suffix}`, nodes: 1, stateRoot });
    try {
      expect(await cleanupStale({ stateRoot })).toEqual([crashed.id]);
      for (const pid of dockerdPids) expect(await isProcessAlive(pid as number)).toBe(false);
      expect(await snapshotHost(runner, name)).toEqual(before);
      // The live lab is untouched and still works.
      expect((await live.nodes[0]?.exec('hostname', []))?.stdout.trim()).toBe('node1');
      expect(await cleanupStale({ stateRoot })).toEqual([]);
    } finally {
      await live.destroy();
    }
  });
});
