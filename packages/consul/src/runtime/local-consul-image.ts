import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CommandRunner } from '@cluster-lab/core';
import { pathExists } from '@cluster-lab/core';
import type Dockerode from 'dockerode';
import { consulError } from '../consul-errors.js';
import { type ConsulVersion, formatConsulVersion, parseConsulVersion } from '../version/consul-version.js';

/** Repository of images built by {@link buildLocalConsulImage}; the tag is the Consul version. */
export const LOCAL_CONSUL_IMAGE_REPO = 'cluster-lab/consul';

/** Options of {@link buildLocalConsulImage}. */
export interface LocalConsulImageOptions {
  /** Runs `consul version`, `ldd` and `tar` on the host. */
  runner: CommandRunner;
  /** The dockerd to import into. */
  docker: Dockerode;
  /** The host's `consul` executable (e.g. setup's Debian build). */
  binary: string;
  /** A static busybox for `/bin/sh` and the entrypoint. Default `/bin/busybox` (Debian's busybox-static). */
  busybox?: string;
  /** Root filesystem tarball cache. Default `/var/cache/cluster-lab`. */
  cacheDir?: string;
}

/** What {@link buildLocalConsulImage} produced. */
export interface LocalConsulImage {
  /** `cluster-lab/consul:<version>`. */
  image: string;
  version: ConsulVersion;
}

// Shaped like the official image's entrypoint: `agent` gets the image's data and config dirs,
// other consul subcommands run as `consul <cmd>`, anything else runs as given.
const ENTRYPOINT = `#!/bin/sh
set -e
CONSUL_DATA_DIR=/consul/data
CONSUL_CONFIG_DIR=/consul/config
case "$1" in
  -*) set -- consul "$@" ;;
esac
case "$1" in
  agent)
    shift
    set -- consul agent -data-dir="$CONSUL_DATA_DIR" -config-dir="$CONSUL_CONFIG_DIR" "$@" ;;
  acl | catalog | config | event | exec | force-leave | info | join | keygen | keyring | kv | leave | lock | maint | members | \
    monitor | operator | reload | rtt | services | snapshot | validate | version | watch)
    set -- consul "$@" ;;
esac
exec "$@"
`;

/**
 * Builds a local Consul image from a host `consul` binary — for machines without a registry,
 * and so the container runtime runs the same real Consul as the binary runtime. The root
 * filesystem holds the binary with the shared libraries `ldd` lists, a static busybox and an
 * entrypoint like the official image's; `docker import` tags it `cluster-lab/consul:<version>`
 * and labels it with the version (`org.opencontainers.image.version`, env `CONSUL_VERSION`) so
 * `ContainerRuntime.version()` reads it as it reads the official image. The tarball is cached
 * by content; importing again replaces the tag.
 *
 * @example
 * ```ts
 * const { image } = await buildLocalConsulImage({ runner, docker, binary: '/var/cache/cluster-lab/consul/1.8.7/consul' });
 * // config: consul: { runtime: 'container', image }
 * ```
 */
export async function buildLocalConsulImage(options: LocalConsulImageOptions): Promise<LocalConsulImage> {
  const { runner, docker, binary } = options;
  const { stdout } = await runner.run(binary, ['version', '-format=json'], { timeoutMs: 10_000 });
  const version = parseConsulVersion(stdout, `${binary} version -format=json`);
  const tag = formatConsulVersion(version);
  const tar = await buildRootfsTar(runner, binary, tag, options.busybox ?? '/bin/busybox', options.cacheDir ?? '/var/cache/cluster-lab');
  const image = `${LOCAL_CONSUL_IMAGE_REPO}:${tag}`;
  const stream = await docker.importImage(tar, {
    repo: LOCAL_CONSUL_IMAGE_REPO,
    tag,
    changes: [
      'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]',
      'CMD ["agent", "-dev"]',
      'ENV PATH=/usr/local/bin:/bin:/usr/bin:/sbin',
      `ENV CONSUL_VERSION=${tag}`,
      `LABEL org.opencontainers.image.version=${tag}`,
      'LABEL org.opencontainers.image.title=consul',
    ],
  });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
      const failed = error?.message ?? output.find((o) => o.error)?.error;
      if (failed)
        reject(consulError('CONSUL_IMAGE_UNAVAILABLE', `docker import of ${image} failed: ${failed}`, { errorClass: 'dependency' }));
      else resolve();
    });
  });
  return { image, version };
}

async function buildRootfsTar(runner: CommandRunner, binary: string, tag: string, busybox: string, cacheDir: string): Promise<string> {
  const bin = await stat(binary);
  const { stdout: lddOut } = await runner.run('ldd', [binary], { reject: false });
  const libs = parseLdd(lddOut);
  const hash = createHash('sha256')
    .update(`${binary}:${bin.size}:${bin.mtimeMs}`)
    .update(libs.join('\n'))
    .update(ENTRYPOINT)
    .digest('hex')
    .slice(0, 12);
  const tarPath = `${cacheDir}/consul-${tag}-${hash}.tar`;
  if (await pathExists(tarPath)) return tarPath;
  if (!(await pathExists(busybox))) {
    throw consulError('CONSUL_IMAGE_UNAVAILABLE', `a static busybox is needed for the image's shell, and ${busybox} is missing`, {
      hint: 'apt-get install busybox-static',
      errorClass: 'dependency',
    });
  }
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(`${cacheDir}/.consul-image-`);
  try {
    const root = `${work}/rootfs`;
    for (const dir of ['bin', 'usr/local/bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'consul/data', 'consul/config']) {
      await mkdir(`${root}/${dir}`, { recursive: true });
    }
    await chmod(`${root}/tmp`, 0o1777);
    await copyFile(busybox, `${root}/bin/busybox`);
    await chmod(`${root}/bin/busybox`, 0o755);
    for (const applet of ['sh', 'cat', 'ls', 'ps', 'kill', 'sleep', 'wget', 'nc']) await symlink('/bin/busybox', `${root}/bin/${applet}`);
    await copyFile(binary, `${root}/bin/consul`);
    await chmod(`${root}/bin/consul`, 0o755);
    // copyFile follows symlinks: each library lands as a regular file under the name the loader asks for.
    for (const lib of libs) {
      await mkdir(dirname(`${root}${lib}`), { recursive: true });
      await copyFile(lib, `${root}${lib}`);
    }
    await writeFile(`${root}/usr/local/bin/docker-entrypoint.sh`, ENTRYPOINT, { mode: 0o755 });
    await writeFile(`${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\nconsul:x:100:1000:consul:/consul:/bin/false\n');
    await writeFile(`${root}/etc/group`, 'root:x:0:\nconsul:x:1000:\n');
    await writeFile(`${root}/etc/hosts`, '127.0.0.1 localhost\n');
    await writeFile(`${root}/etc/nsswitch.conf`, 'hosts: files dns\n');
    await runner.run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', `${work}/image.tar`, '.'], {
      timeoutMs: 120_000,
    });
    await rename(`${work}/image.tar`, tarPath);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return tarPath;
}

/** Absolute library paths from `ldd` output (the vDSO has no file and is skipped; a static binary has none). */
export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const line of output.split('\n')) {
    const arrow = /=>\s+(\/\S+)\s+\(/.exec(line);
    const direct = /^\s*(\/\S+)\s+\(/.exec(line);
    const path = arrow?.[1] ?? direct?.[1];
    if (path) libs.push(path);
  }
  return libs;
}
