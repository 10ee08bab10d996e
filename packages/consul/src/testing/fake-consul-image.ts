import { createHash } from 'node:crypto';
import { access, chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CommandRunner } from '@cluster-lab/core';
import type Dockerode from 'dockerode';
import { parseLdd } from '../runtime/local-consul-image.js';
import { assertFakeConsulBuilt } from './fake-consul-bin.js';

/** Tag of the locally built image that wraps the fake `consul` executable (TEST DOUBLE). */
export const FAKE_CONSUL_IMAGE = 'cluster-lab/fake-consul:test';

/** Options of {@link buildFakeConsulImageTar}. */
export interface FakeConsulImageOptions {
  /** Node binary to put in the image. Default `process.execPath`. */
  node?: string;
  /** Static busybox (for `/bin/sh` and the entrypoint). Default `/bin/busybox` (busybox-static). */
  busybox?: string;
  /** Tarball cache directory. Default `/var/cache/cluster-lab`. */
  cacheDir?: string;
}

const ENTRYPOINT = `#!/bin/sh
# TEST DOUBLE entrypoint, shaped like the official hashicorp/consul image's docker-entrypoint.sh:
# "agent" gets -data-dir and -config-dir of the image's conventional paths.
set -e
CONSUL_DATA_DIR=/consul/data
CONSUL_CONFIG_DIR=/consul/config
if [ "$1" = 'agent' ]; then
  shift
  set -- consul agent -data-dir="$CONSUL_DATA_DIR" -config-dir="$CONSUL_CONFIG_DIR" "$@"
elif [ "$1" = 'version' ] || [ "$1" = 'members' ] || [ "$1" = 'join' ] || [ "$1" = 'leave' ] || [ "$1" = 'kv' ]; then
  set -- consul "$@"
fi
exec "$@"
`;

/**
 * Builds (cached by content) a root filesystem tarball for {@link FAKE_CONSUL_IMAGE}: static
 * busybox, the node binary with the shared libraries `ldd` lists, `dist/fake-consul.js` as
 * `/bin/consul`, and an entrypoint like the official image's. No registry needed: import it with
 * {@link importFakeConsulImage}. Returns the tarball path.
 *
 * @example
 * ```ts
 * await importFakeConsulImage(new ExecaRunner(), lab.nodes[0].docker());
 * ```
 */
export async function buildFakeConsulImageTar(runner: CommandRunner, options: FakeConsulImageOptions = {}): Promise<string> {
  const node = options.node ?? process.execPath;
  const busybox = options.busybox ?? '/bin/busybox';
  const cacheDir = options.cacheDir ?? '/var/cache/cluster-lab';
  const script = await readFile(assertFakeConsulBuilt());
  const nodeStat = await stat(node);
  const { stdout: lddOut } = await runner.run('ldd', [node]);
  const libs = parseLdd(lddOut);
  const hash = createHash('sha256')
    .update(script)
    .update(`${node}:${nodeStat.size}:${nodeStat.mtimeMs}`)
    .update(libs.join('\n'))
    .update(ENTRYPOINT)
    .digest('hex')
    .slice(0, 12);
  const tarPath = `${cacheDir}/fake-consul-${hash}.tar`;
  if (await exists(tarPath)) return tarPath;

  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(`${cacheDir}/.fake-consul-`);
  try {
    const root = `${work}/rootfs`;
    for (const dir of [
      'bin',
      'sbin',
      'usr/bin',
      'usr/local/bin',
      'etc',
      'proc',
      'sys',
      'dev',
      'root',
      'tmp',
      'consul/data',
      'consul/config',
    ]) {
      await mkdir(`${root}/${dir}`, { recursive: true });
    }
    await chmod(`${root}/tmp`, 0o1777);
    await copyFile(busybox, `${root}/bin/busybox`);
    await chmod(`${root}/bin/busybox`, 0o755);
    for (const applet of ['sh', 'env', 'cat', 'ls', 'ps', 'kill', 'sleep', 'wget', 'nc', 'ip'])
      await symlink('/bin/busybox', `${root}/bin/${applet}`);
    await copyFile(node, `${root}/usr/local/bin/node`);
    await chmod(`${root}/usr/local/bin/node`, 0o755);
    // copyFile follows symlinks: each library lands as a regular file under the name the loader asks for.
    for (const lib of libs) {
      await mkdir(dirname(`${root}${lib}`), { recursive: true });
      await copyFile(lib, `${root}${lib}`);
    }
    await writeFile(`${root}/usr/local/bin/fake-consul.js`, script, { mode: 0o755 });
    await writeFile(`${root}/bin/consul`, '#!/bin/sh\nexec /usr/local/bin/node /usr/local/bin/fake-consul.js "$@"\n', { mode: 0o755 });
    await writeFile(`${root}/usr/local/bin/docker-entrypoint.sh`, ENTRYPOINT, { mode: 0o755 });
    await writeFile(`${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\nconsul:x:100:1000:consul:/consul:/bin/false\n');
    await writeFile(`${root}/etc/group`, 'root:x:0:\nconsul:x:1000:\n');
    await writeFile(`${root}/etc/hosts`, '127.0.0.1 localhost\n');
    await runner.run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', `${work}/image.tar`, '.'], {
      timeoutMs: 120_000,
    });
    await rename(`${work}/image.tar`, tarPath);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return tarPath;
}

/**
 * Imports the fake Consul image into one dockerd as `ref` (`docker import` with the entrypoint,
 * default command `agent`, and the label `org.cluster-lab.test-double=true`).
 */
export async function importFakeConsulImage(
  runner: CommandRunner,
  docker: Dockerode,
  ref = FAKE_CONSUL_IMAGE,
  options: FakeConsulImageOptions = {},
): Promise<void> {
  const tar = await buildFakeConsulImageTar(runner, options);
  const colon = ref.lastIndexOf(':');
  const [repo, tag] = colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
  const stream = await docker.importImage(tar, {
    repo,
    tag,
    changes: [
      'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]',
      'CMD ["agent", "-dev"]',
      'ENV PATH=/usr/local/bin:/bin:/usr/bin:/sbin',
      'LABEL org.cluster-lab.test-double=true',
    ],
  });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
      const failed = error?.message ?? output.find((o) => o.error)?.error;
      if (failed) reject(new Error(failed));
      else resolve();
    });
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
