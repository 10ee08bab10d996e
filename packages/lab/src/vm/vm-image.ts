import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterLabError, describeError } from '@cluster-lab/core';

/** Where `scripts/setup-vm.sh` caches the kernel, the initramfs and `vm.json` (override: `VM_CACHE_DIR`). */
export const VM_CACHE_DIR = '/var/cache/cluster-lab/vm';

/**
 * What a test VM boots, as `scripts/setup-vm.sh` recorded it in `vm.json`: Debian's generic
 * kernel (which has the 802.1Q module this machine type's kernel lacks), the busybox initramfs
 * that loads the virtio, 9p and 802.1Q modules, and QEMU.
 */
export interface VmImage {
  /** Kernel to boot: the unpacked ELF `vmlinux` (PVH entry) or, failing that, the `vmlinuz`. */
  kernel: string;
  /** The initramfs (`scripts/vm-init.sh` as `/init`). */
  initrd: string;
  /** `qemu-system-x86_64`. */
  qemu: string;
  /** Debian package the kernel came from, e.g. `linux-image-6.1.0-57-amd64`. */
  kernelPackage: string;
  /** Its Debian version, e.g. `6.1.192-3`. */
  kernelVersion: string;
  /** `uname -r` in the VM, e.g. `6.1.0-57-amd64`. */
  kernelRelease: string;
  /** `qemu-system-x86_64 --version`, e.g. `7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`. */
  qemuVersion: string;
}

const FIELDS = ['kernel', 'initrd', 'qemu', 'kernelPackage', 'kernelVersion', 'kernelRelease', 'qemuVersion'] as const;

/**
 * Reads the {@link VmImage} that `scripts/setup-vm.sh` prepared. Throws `VM_NOT_SET_UP` (a
 * dependency error naming the script) when the manifest or a file it names is missing.
 *
 * @example
 * ```ts
 * const image = await readVmImage(); // /var/cache/cluster-lab/vm/vm.json
 * console.log(image.kernelPackage, image.kernelVersion);
 * ```
 */
export async function readVmImage(cacheDir = process.env.VM_CACHE_DIR ?? VM_CACHE_DIR): Promise<VmImage> {
  const manifest = join(cacheDir, 'vm.json');
  const notSetUp = (why: string, cause?: unknown) =>
    new ClusterLabError('VM_NOT_SET_UP', `the test VM is not set up: ${why}`, {
      hint: 'run `bash scripts/setup-vm.sh` as root (it installs QEMU and caches Debian’s kernel and the initramfs)',
      errorClass: 'dependency',
      cause,
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(manifest, 'utf8'));
  } catch (error) {
    throw notSetUp(`cannot read ${manifest} (${describeError(error)})`, error);
  }
  const record = (parsed ?? {}) as Record<string, unknown>;
  const missing = FIELDS.filter((field) => typeof record[field] !== 'string' || record[field] === '');
  if (missing.length > 0) throw notSetUp(`${manifest} lacks ${missing.join(', ')}`);
  const image = Object.fromEntries(FIELDS.map((field) => [field, record[field]])) as unknown as VmImage;
  for (const file of [image.kernel, image.initrd, image.qemu]) {
    try {
      await access(file);
    } catch (error) {
      throw notSetUp(`${file} (named in ${manifest}) is missing`, error);
    }
  }
  return image;
}
