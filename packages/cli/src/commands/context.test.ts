import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { configFile, loadEffectiveConfig } from './context.js';

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
