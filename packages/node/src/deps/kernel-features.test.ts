import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kernelFeature } from './kernel-features.js';

describe('kernelFeature', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cl-kf-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const kernelConfig = async (text: string) => {
    await mkdir(join(root, 'proc'), { recursive: true });
    await writeFile(join(root, 'proc/config.gz'), gzipSync(text));
  };

  it('is available when the module shows in /sys/module (loaded or built in)', async () => {
    await mkdir(join(root, 'sys/module/vxlan'), { recursive: true });
    expect(await kernelFeature('vxlan', root)).toBe('available');
  });

  it('reads the running kernel config: y built in, m loadable, "not set" missing', async () => {
    await kernelConfig('CONFIG_VXLAN=y\nCONFIG_VLAN_8021Q=m\n');
    expect(await kernelFeature('vxlan', root)).toBe('available');
    expect(await kernelFeature('8021q', root)).toBe('loadable');
    await kernelConfig('# CONFIG_VLAN_8021Q is not set\n');
    expect(await kernelFeature('8021q', root)).toBe('missing');
  });

  it('falls back to the module tree when there is no kernel config', async () => {
    const dir = join(root, 'lib/modules', release());
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'modules.dep'), 'kernel/net/8021q/8021q.ko.xz: kernel/net/802/garp.ko.xz\n');
    expect(await kernelFeature('8021q', root)).toBe('loadable');
    expect(await kernelFeature('vxlan', root)).toBe('missing');
  });
});
