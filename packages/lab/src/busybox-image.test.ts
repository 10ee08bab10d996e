import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { FakeRunner } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildBusyboxTar, importBusyboxImage } from './busybox-image.js';

describe('buildBusyboxTar', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(`${tmpdir()}/lab-busybox-`);
    await writeFile(`${dir}/busybox`, 'not really busybox');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lays out busybox with one symlink per applet, tars it once and reuses the cached tarball', async () => {
    const seen: Record<string, string> = {};
    const runner = new FakeRunner()
      .on(`${dir}/busybox`, ['--list-full'], { stdout: 'bin/busybox\nbin/sh\nusr/bin/wget\nusr/sbin/httpd\nbin/nc\n' })
      .on(
        'tar',
        () => true,
        async (call) => {
          const root = call.args[call.args.indexOf('-C') + 1] as string;
          for (const applet of ['bin/sh', 'usr/bin/wget', 'usr/sbin/httpd', 'bin/nc']) seen[applet] = await readlink(`${root}/${applet}`);
          seen.busybox = await readFile(`${root}/bin/busybox`, 'utf8');
          seen.tmp = ((await stat(`${root}/tmp`)).mode & 0o7777).toString(8);
          seen.passwd = await readFile(`${root}/etc/passwd`, 'utf8');
          await writeFile(call.args[call.args.indexOf('-cf') + 1] as string, 'tar bytes');
          return {};
        },
      );
    const tar = await buildBusyboxTar(runner, { busybox: `${dir}/busybox`, cacheDir: `${dir}/cache` });
    expect(tar).toMatch(new RegExp(`^${dir}/cache/busybox-[0-9a-f]{12}\\.tar$`));
    expect(await readFile(tar, 'utf8')).toBe('tar bytes');
    expect(seen).toMatchObject({
      'bin/sh': '/bin/busybox',
      'usr/bin/wget': '/bin/busybox',
      'usr/sbin/httpd': '/bin/busybox',
      'bin/nc': '/bin/busybox',
    });
    expect(seen).toMatchObject({ busybox: 'not really busybox', tmp: '1777', passwd: expect.stringMatching(/^root:x:0:0:/) });
    expect(runner.commands().find((c) => c.startsWith('tar'))).toMatch(
      /^tar --numeric-owner --owner=0 --group=0 -C .*\/rootfs -cf .*\/image\.tar \.$/,
    );
    // The build directory is gone; only the tarball stays.
    expect(await readdir(`${dir}/cache`)).toEqual([tar.split('/').at(-1)]);

    const again = new FakeRunner();
    expect(await buildBusyboxTar(again, { busybox: `${dir}/busybox`, cacheDir: `${dir}/cache` })).toBe(tar);
    expect(again.calls).toEqual([]);
    expect((await lstat(tar)).isFile()).toBe(true);
  });

  it('says to install busybox-static when the binary is missing', async () => {
    await expect(buildBusyboxTar(new FakeRunner(), { busybox: `${dir}/absent`, cacheDir: dir })).rejects.toMatchObject({
      code: 'LAB_NO_BUSYBOX',
      hint: 'apt-get install busybox-static',
      errorClass: 'dependency',
    });
  });

  it('names the node whose import failed', async () => {
    const runner = new FakeRunner().on(`${dir}/busybox`, ['--list-full'], { stdout: 'bin/sh\n' }).on(
      'tar',
      () => true,
      async (call) => {
        await writeFile(call.args[call.args.indexOf('-cf') + 1] as string, '');
        return {};
      },
    );
    const node = {
      name: 'node2',
      docker: () => {
        throw new Error('connect ENOENT /x/docker.sock');
      },
    };
    await expect(
      importBusyboxImage(runner, [node as never], { busybox: `${dir}/busybox`, cacheDir: `${dir}/cache` }),
    ).rejects.toMatchObject({
      code: 'LAB_IMAGE_IMPORT_FAILED',
      message: expect.stringContaining('lab node "node2" failed: connect ENOENT'),
    });
  });
});
