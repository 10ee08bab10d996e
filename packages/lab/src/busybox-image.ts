import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ClusterLabError, type CommandRunner, describeError, pathExists } from '@cluster-lab/core';
import type Docker from 'dockerode';

/** The image every lab node gets with `image: true`: a static busybox (sh, nc, httpd, wget, …). */
export const BUSYBOX_IMAGE = 'cluster-lab/busybox:latest';

/** The static busybox binary of Debian's `busybox-static` package. */
export const BUSYBOX_BINARY = '/bin/busybox';

/** Host cache for the image tarball: built once per busybox binary, reused by every lab. */
export const IMAGE_CACHE_DIR = '/var/cache/cluster-lab';

/** Options of {@link buildBusyboxTar}. */
export interface BusyboxTarOptions {
  /** Static busybox binary to put in the image. Default {@link BUSYBOX_BINARY}. */
  busybox?: string;
  /** Where the tarball is cached. Default {@link IMAGE_CACHE_DIR}. */
  cacheDir?: string;
}

/**
 * Builds (once per busybox binary, cached by its hash) a root filesystem tarball holding
 * `/bin/busybox` and a symlink per applet at busybox's own install paths, plus the few files
 * `httpd` and friends expect. The binary must be static: the dynamic one's `wget` crashes in a
 * bare container. Returns the tarball path.
 *
 * @example
 * ```ts
 * const tar = await buildBusyboxTar(new ExecaRunner()); // /var/cache/cluster-lab/busybox-1a2b3c4d5e6f.tar
 * ```
 */
export async function buildBusyboxTar(runner: CommandRunner, options: BusyboxTarOptions = {}): Promise<string> {
  const busybox = options.busybox ?? BUSYBOX_BINARY;
  const cacheDir = options.cacheDir ?? IMAGE_CACHE_DIR;
  let binary: Buffer;
  try {
    binary = await readFile(busybox);
  } catch (error) {
    throw new ClusterLabError('LAB_NO_BUSYBOX', `cannot read the busybox binary "${busybox}": ${describeError(error)}`, {
      hint: 'apt-get install busybox-static',
      errorClass: 'dependency',
      cause: error,
    });
  }
  const tarPath = `${cacheDir}/busybox-${createHash('sha256').update(binary).digest('hex').slice(0, 12)}.tar`;
  if (await pathExists(tarPath)) return tarPath;

  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(`${cacheDir}/.build-`);
  try {
    const root = `${work}/rootfs`;
    for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'root', 'var/www', 'tmp']) {
      await mkdir(`${root}/${dir}`, { recursive: true });
    }
    await chmod(`${root}/tmp`, 0o1777);
    await copyFile(busybox, `${root}/bin/busybox`);
    await chmod(`${root}/bin/busybox`, 0o755);
    const { stdout } = await runner.run(busybox, ['--list-full']);
    for (const applet of stdout.split('\n').map((l) => l.trim())) {
      if (applet === '' || applet === 'bin/busybox' || applet.includes('..')) continue;
      await mkdir(dirname(`${root}/${applet}`), { recursive: true });
      await symlink('/bin/busybox', `${root}/${applet}`).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
    }
    await writeFile(`${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    await writeFile(`${root}/etc/group`, 'root:x:0:\nnogroup:x:65534:\n');
    await runner.run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', `${work}/image.tar`, '.']);
    // Atomic publish: a parallel builder either sees no tarball or a complete one.
    await rename(`${work}/image.tar`, tarPath);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return tarPath;
}

/**
 * Imports a root filesystem tarball as image `ref` into one dockerd (`docker import`), with
 * `sh` as its default command.
 */
export async function importImageTar(docker: Docker, tarPath: string, ref = BUSYBOX_IMAGE): Promise<void> {
  const [repo, tag = 'latest'] = splitRef(ref);
  const stream = await docker.importImage(tarPath, { repo, tag, changes: ['CMD ["/bin/sh"]'] });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
      const failed = error?.message ?? output.find((o) => o.error)?.error;
      if (failed) reject(new Error(failed));
      else resolve();
    });
  });
}

/**
 * Copies image `ref` from one dockerd to another (`docker save | docker load`), e.g. from the
 * host's docker into a lab node.
 */
export async function copyImage(from: Docker, to: Docker, ref: string): Promise<void> {
  const saved = await from.getImage(ref).get();
  const stream = await to.loadImage(saved);
  await new Promise<void>((resolve, reject) => {
    to.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
      const failed = error?.message ?? output.find((o) => o.error)?.error;
      if (failed) reject(new Error(failed));
      else resolve();
    });
  });
}

/** Builds the busybox tarball once and imports it into every node's dockerd, in parallel. */
export async function importBusyboxImage(
  runner: CommandRunner,
  nodes: readonly { name: string; docker(): Docker }[],
  options: BusyboxTarOptions = {},
): Promise<void> {
  const tar = await buildBusyboxTar(runner, options);
  await Promise.all(
    nodes.map(async (node) => {
      try {
        await importImageTar(node.docker(), tar);
      } catch (error) {
        throw new ClusterLabError(
          'LAB_IMAGE_IMPORT_FAILED',
          `importing ${BUSYBOX_IMAGE} into lab node "${node.name}" failed: ${describeError(error)}`,
          {
            hint: `the tarball is ${tar}; delete it to rebuild`,
            cause: error,
          },
        );
      }
    }),
  );
}

function splitRef(ref: string): [string, string | undefined] {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, undefined];
}
