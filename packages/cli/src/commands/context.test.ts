import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireStateLock } from '@cluster-lab/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LiveStream } from '../output/live-line.js';
import { Output, outputOptions } from '../output/output.js';
import { configFile, loadEffectiveConfig, withNodeLock } from './context.js';

let dir: string;
let fromEnv: string;
let fromFlag: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-context-'));
  fromEnv = join(dir, 'env.yaml');
  fromFlag = join(dir, 'flag.yaml');
  await writeFile(fromEnv, 'interface: eth7\n');
  await writeFile(fromFlag, 'interface: eth8\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the config file: --config > CLUSTER_LAB_CONFIG > default paths', () => {
  it('picks the flag, then the variable, then nothing (the loader searches the defaults)', () => {
    expect(configFile({ config: '/a.yaml' }, { CLUSTER_LAB_CONFIG: '/b.yaml' })).toEqual({ file: '/a.yaml', fileOrigin: '--config' });
    expect(configFile({}, { CLUSTER_LAB_CONFIG: '/b.yaml' })).toEqual({ file: '/b.yaml', fileOrigin: 'CLUSTER_LAB_CONFIG' });
    expect(configFile({}, { CLUSTER_LAB_CONFIG: '' })).toEqual({});
    expect(configFile({}, {})).toEqual({});
  });

  it('loads the file CLUSTER_LAB_CONFIG names, and --config wins over it', async () => {
    vi.stubEnv('CLUSTER_LAB_CONFIG', fromEnv);
    expect((await loadEffectiveConfig({})).config.interface).toBe('eth7');
    expect((await loadEffectiveConfig({ config: fromFlag })).config.interface).toBe('eth8');
  });

  it('names CLUSTER_LAB_CONFIG when the file it names is missing', async () => {
    vi.stubEnv('CLUSTER_LAB_CONFIG', join(dir, 'missing.yaml'));
    await expect(loadEffectiveConfig({})).rejects.toThrow(/CLUSTER_LAB_CONFIG: ".*missing\.yaml" does not exist/);
  });

  it('does not read CLUSTER_LAB_DEBUG as a config field', async () => {
    vi.stubEnv('CLUSTER_LAB_DEBUG', '1');
    expect((await loadEffectiveConfig({ config: fromFlag })).config.interface).toBe('eth8');
  });
});

describe('withNodeLock: one start/stop/restart per state dir', () => {
  it('says who it waits for, then fails naming the holder (pid and command)', async () => {
    const stateDir = join(dir, 'state');
    const text: string[] = [];
    const stream = { isTTY: false, write: (chunk: string) => text.push(chunk) > 0 } as unknown as LiveStream;
    const out = new Output(outputOptions({}, {}, { stdout: stream, stderr: stream }));
    const holder = await acquireStateLock(stateDir, { command: 'cluster-lab stop' });
    try {
      // Not the holder's call chain, so it waits like a second process would.
      const run = withNodeLock({ stateDir }, 'start', out, async () => 'ran', { waitMs: 300 });
      const error = await run.catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'STATE_LOCKED', message: expect.stringContaining(`pid ${process.pid} (\`cluster-lab stop\``) });
      expect(text.join('')).toContain(`warning: ${stateDir} is in use by pid ${process.pid} (\`cluster-lab stop\`); waiting up to 0.3 s`);
    } finally {
      await holder.release();
    }
    expect(await withNodeLock({ stateDir }, 'start', out, async () => 'ran')).toBe('ran');
  });
});
