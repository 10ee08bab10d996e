import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunner } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consulInstallGuide, debianConsulPath, debianMirror, findConsulBinary, installDebianConsul } from './consul-install.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'consul-install-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('consulInstallGuide', () => {
  it('explains per architecture: Debian 11 package (automatic), HashiCorp apt, release zip, official image', () => {
    const arm = consulInstallGuide('armv7l');
    expect(arm.map((o) => o.id)).toEqual(['debian', 'hashicorp-apt', 'hashicorp-zip', 'image']);
    expect(arm[0]).toMatchObject({ title: 'Debian 11 (bullseye) package, armhf', version: '1.8.7', automatic: true });
    expect(arm[1]?.steps.join('\n')).toContain('deb [arch=armhf signed-by=/usr/share/keyrings/hashicorp-archive-keyring.gpg]');
    expect(arm[2]?.title).toBe("HashiCorp's release zip (linux_arm)");
    expect(arm[3]?.title).toContain('linux/arm/v7');
    expect(consulInstallGuide('x64')[0]?.title).toBe('Debian 11 (bullseye) package, amd64');
    expect(consulInstallGuide('aarch64')[2]?.title).toBe("HashiCorp's release zip (linux_arm64)");
    expect(() => consulInstallGuide('riscv64')).toThrow(expect.objectContaining({ code: 'CONSUL_UNSUPPORTED_ARCH' }));
  });
});

describe('debianMirror', () => {
  it("reads the machine's deb822 sources (skipping security), else sources.list, else nothing", async () => {
    await mkdir(join(dir, 'sources.list.d'));
    expect(await debianMirror(dir)).toBeUndefined();
    await writeFile(join(dir, 'sources.list'), '# comment\ndeb [arch=amd64] http://ftp.de.debian.org/debian bookworm main\n');
    expect(await debianMirror(dir)).toBe('http://ftp.de.debian.org/debian');
    await writeFile(
      join(dir, 'sources.list.d', 'debian.sources'),
      'Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://mirror.local/debian\nSuites: bookworm\n',
    );
    expect(await debianMirror(dir)).toBe('http://mirror.local/debian');
  });
});

describe('findConsulBinary', () => {
  it('prefers PATH (or an absolute path), then the build setup cached', async () => {
    const cache = join(dir, 'cache');
    expect(await findConsulBinary('no-such-consul-here', cache)).toBeUndefined();
    await mkdir(join(cache, '1.8.7'), { recursive: true });
    await writeFile(debianConsulPath(cache), '#!/bin/sh\n');
    await chmod(debianConsulPath(cache), 0o755);
    expect(await findConsulBinary('no-such-consul-here', cache)).toBe(join(cache, '1.8.7', 'consul'));
    expect(await findConsulBinary(debianConsulPath(cache), join(dir, 'elsewhere'))).toBe(debianConsulPath(cache));
  });
});

describe('installDebianConsul', () => {
  it('fetches bullseye with a private apt config, extracts the binary into the cache and checks it', async () => {
    const cache = join(dir, 'cache');
    const binary = debianConsulPath(cache);
    let installed = false;
    const runner = new FakeRunner()
      .on(binary, ['version'], () => (installed ? { stdout: 'Consul v1.8.7\nProtocol 2 spoken by default\n' } : { notFound: true }))
      .on('apt-get', (args) => args.includes('update'), {})
      .on(
        'apt-get',
        (args) => args.includes('download'),
        async (call) => {
          await writeFile(join(call.options.cwd as string, 'consul_1.8.7+dfsg1-2+b3_arm64.deb'), 'deb');
          return {};
        },
      )
      .on('dpkg-deb', { prefix: ['-f'] }, { stdout: '1.8.7+dfsg1-2+b3\n' })
      .on('dpkg-deb', { prefix: ['-x'] }, async (call) => {
        const target = call.args[2] as string;
        await mkdir(join(target, 'usr', 'bin'), { recursive: true });
        await writeFile(join(target, 'usr', 'bin', 'consul'), 'ELF');
        installed = true;
        return {};
      });
    const result = await installDebianConsul({ runner, arch: 'arm64', cacheDir: cache, mirror: 'http://mirror.local/debian' });
    expect(result).toMatchObject({
      binary,
      downloaded: true,
      mirror: 'http://mirror.local/debian',
      version: { major: 1, minor: 8, patch: 7 },
    });
    expect(await readFile(binary, 'utf8')).toBe('ELF');
    const update = runner.calls.find((c) => c.args.includes('update'));
    const tmp = (update?.args.find((a) => a.startsWith('Dir::State::Lists=')) ?? '').slice('Dir::State::Lists='.length, -'/lists'.length);
    expect(tmp).toMatch(/cluster-lab-consul-/);
    expect(update?.args).toEqual([
      ...['-o', `Dir::Etc::sourcelist=${tmp}/sources.list`, '-o', `Dir::Etc::sourceparts=${tmp}/sources.list.d`],
      ...['-o', `Dir::State::Lists=${tmp}/lists`, '-o', `Dir::Cache=${tmp}/cache`],
      ...['-o', 'APT::Sandbox::User=root', '-o', 'Debug::NoLocking=1', '-o', 'Acquire::Retries=1', '-o', 'Acquire::http::Timeout=20'],
      ...['-qq', '--error-on=any', 'update'],
    ]);
    expect(runner.calls.find((c) => c.args.includes('download'))?.args.slice(-1)).toEqual(['consul:arm64']);
    // Cached now: a second install runs only `consul version`.
    const again = new FakeRunner().on(binary, ['version'], { stdout: 'Consul v1.8.7\n' });
    expect(await installDebianConsul({ runner: again, cacheDir: cache })).toMatchObject({ binary, downloaded: false });
    expect(again.commands()).toEqual([`${binary} version`]);
  });

  it('says which mirror failed and what to do', async () => {
    const cache = join(dir, 'cache');
    const runner = new FakeRunner()
      .on(debianConsulPath(cache), ['version'], { notFound: true })
      .on('apt-get', (args) => args.includes('update'), {
        exitCode: 100,
        stderr: 'E: Failed to fetch http://mirror.local/debian/dists/bullseye/InRelease  Could not resolve host\n',
      });
    await expect(installDebianConsul({ runner, arch: 'x64', cacheDir: cache, mirror: 'http://mirror.local/debian' })).rejects.toMatchObject(
      {
        code: 'CONSUL_INSTALL_FAILED',
        errorClass: 'dependency',
        message:
          "cannot read Debian's bullseye suite from http://mirror.local/debian: E: Failed to fetch http://mirror.local/debian/dists/bullseye/InRelease  Could not resolve host",
      },
    );
  });
});
