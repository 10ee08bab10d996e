import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeCall, FakeRunner, isClusterLabError } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVmWire, qemuArgs, runInVm } from './run-in-vm.js';
import { readVmImage, type VmImage } from './vm-image.js';

const IMAGE: VmImage = {
  kernel: '/cache/vmlinux',
  initrd: '/cache/initrd.cpio.gz',
  qemu: '/usr/bin/qemu-system-x86_64',
  kernelPackage: 'linux-image-6.1.0-57-amd64',
  kernelVersion: '6.1.192-3',
  kernelRelease: '6.1.0-57-amd64',
  qemuVersion: '7.2.22',
};

/** The value of the `-fsdev` entry with this id, e.g. the job folder's host path. */
function fsdevPath(args: readonly string[], id: string): string {
  const spec = args.find((a) => a.startsWith(`local,id=${id},`)) ?? '';
  return /path=([^,]+)/.exec(spec)?.[1] ?? '';
}

/** What the VM's init would leave in the job folder, plus what it found there. */
function guest(files: Record<string, string>, console = '[    4.5] reboot: Power down\n') {
  const seen: Record<string, string> = {};
  const reply = async (call: FakeCall) => {
    const job = fsdevPath(call.args, 'job');
    for (const name of ['argv', 'env', 'cwd', 'timeout']) seen[name] = await readFile(join(job, name), 'utf8');
    seen.job = job;
    for (const [name, text] of Object.entries(files)) await writeFile(join(job, name), text);
    return { stdout: console };
  };
  return { seen, reply };
}

async function errorOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isClusterLabError(error)) return error;
    throw error;
  }
  throw new Error('expected a ClusterLabError');
}

describe('qemuArgs', () => {
  it('boots the kernel with the host root read-only, the job folder writable and an isolated NIC', () => {
    const args = qemuArgs(IMAGE, '/tmp/job', {});
    expect(args.slice(0, 8)).toEqual(['-machine', 'q35,accel=tcg', '-cpu', 'max', '-smp', '1', '-m', '1024']);
    expect(args).toEqual(expect.arrayContaining(['-kernel', '/cache/vmlinux', '-initrd', '/cache/initrd.cpio.gz', '-no-reboot']));
    expect(args).toContain('local,id=root,path=/,security_model=none,readonly=on,multidevs=remap');
    expect(args).toContain('local,id=job,path=/tmp/job,security_model=none');
    expect(args).toContain('virtio-9p-pci,fsdev=job,mount_tag=job');
    expect(args.filter((a) => a.startsWith('user,'))).toEqual(['user,id=n0,restrict=on']);
    expect(args.find((a) => a.startsWith('virtio-net-pci'))).toMatch(/^virtio-net-pci,netdev=n0,mac=52:54:00(:[0-9a-f]{2}){3},romfile=$/);
  });

  it('cables NICs to wire ends, keeps given MACs and shares extra folders as share0, share1', () => {
    const wire = { local: '/w/a.sock', remote: '/w/b.sock' };
    const args = qemuArgs(IMAGE, '/tmp/job', { nics: [{ wire, mac: '52:54:00:00:00:01' }, {}], shares: ['/x', '/y'], memoryMb: 512 });
    expect(args).toContain('dgram,id=n0,local.type=unix,local.path=/w/a.sock,remote.type=unix,remote.path=/w/b.sock');
    expect(args).toContain('virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01,romfile=');
    expect(args).toContain('user,id=n1,restrict=on');
    expect(args).toContain('local,id=share1,path=/y,security_model=none');
    expect(args).toContain('virtio-9p-pci,fsdev=share1,mount_tag=share1');
    expect(args[args.indexOf('-m') + 1]).toBe('512');
  });

  it('gives every NIC its own random MAC (two VMs on one wire must differ)', () => {
    const macs = new Set(
      Array.from({ length: 20 }, () => qemuArgs(IMAGE, '/j', { nics: [{}] }).find((a) => a.startsWith('virtio-net-pci'))),
    );
    expect(macs.size).toBe(20);
  });
});

describe('runInVm', () => {
  it('writes the command as argument lines, returns the exit status and output the VM left, and removes the job folder', async () => {
    const { seen, reply } = guest({ status: '3\n', stdout: 'out\n', stderr: 'err\n' });
    const runner = new FakeRunner().on(IMAGE.qemu, () => true, reply);
    const result = await runInVm({
      command: ['/bin/sh', '-c', 'echo "$1"; exit 3', 'two words'],
      cwd: '/work',
      env: { PATH: '/usr/bin', LANG: 'C' },
      image: IMAGE,
      runner,
      timeoutMs: 5000,
    });
    expect(result).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', console: '[    4.5] reboot: Power down\n' });
    expect(seen).toMatchObject({
      argv: '/bin/sh\n-c\necho "$1"; exit 3\ntwo words\n',
      env: 'PATH=/usr/bin\nLANG=C\n',
      cwd: '/work\n',
      // the VM powers itself off 10 s after the host would have killed it
      timeout: '15\n',
    });
    expect(runner.calls[0]?.options).toMatchObject({ timeoutMs: 5000, reject: false });
    expect(existsSync(seen.job as string)).toBe(false);
  });

  it('defaults to PATH only, cwd /', async () => {
    const { seen, reply } = guest({ status: '0\n' });
    await runInVm({ command: ['true'], image: IMAGE, runner: new FakeRunner().on(IMAGE.qemu, () => true, reply) });
    expect(seen.env).toBe('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
    expect(seen.cwd).toBe('/\n');
  });

  it('a VM that powers off without a status is VM_FAILED with the console’s last lines', async () => {
    const { seen, reply } = guest({}, 'vm-init: cannot mount the host root (9p tag "root")\n[ 3.1] reboot: Power down\n');
    const error = await errorOf(runInVm({ command: ['true'], image: IMAGE, runner: new FakeRunner().on(IMAGE.qemu, () => true, reply) }));
    expect(error.code).toBe('VM_FAILED');
    expect(error.message).toContain('powered off without finishing true');
    expect(error.message).toContain('cannot mount the host root');
    expect(existsSync(seen.job as string)).toBe(false);
  });

  it('a VM that runs past its time is killed: VM_TIMEOUT', async () => {
    const runner = new FakeRunner().on(IMAGE.qemu, () => true, { timedOut: true, stdout: 'Booting…\n' });
    const error = await errorOf(runInVm({ command: ['sleep', '99'], image: IMAGE, runner, timeoutMs: 4000 }));
    expect(error.code).toBe('VM_TIMEOUT');
    expect(error.message).toMatch(/^the VM running sleep 99 \(in the VM\) did not finish within 4 s/);
  });

  it('an aborted run kills the VM: VM_CANCELED', async () => {
    const runner = new FakeRunner().on(IMAGE.qemu, () => true, { delayMs: 5000 });
    const abort = new AbortController();
    const pending = runInVm({ command: ['true'], image: IMAGE, runner, signal: abort.signal });
    abort.abort();
    expect((await errorOf(pending)).code).toBe('VM_CANCELED');
  });

  it('doubles commas in paths inside QEMU option lists', () => {
    const args = qemuArgs(IMAGE, '/tmp/a,b', { shares: ['/x,y'] });
    expect(args).toContain('local,id=job,path=/tmp/a,,b,security_model=none');
    expect(args).toContain('local,id=share0,path=/x,,y,security_model=none');
  });

  it('QEMU failing to start is VM_FAILED with its error', async () => {
    const runner = new FakeRunner().on(IMAGE.qemu, () => true, { exitCode: 1, stderr: 'qemu: could not load kernel\n' });
    const error = await errorOf(runInVm({ command: ['true'], image: IMAGE, runner }));
    expect(error.code).toBe('VM_FAILED');
    expect(error.message).toContain('could not load kernel');
  });

  it('refuses an argument with a line break before starting anything', async () => {
    const runner = new FakeRunner();
    const error = await errorOf(runInVm({ command: ['echo', 'a\nb'], image: IMAGE, runner }));
    expect(error).toMatchObject({ code: 'VM_BAD_ARGUMENT', errorClass: 'usage' });
    expect(runner.calls).toEqual([]);
  });
});

describe('createVmWire', () => {
  it('gives two crossed ends in one folder and removes it', async () => {
    const wire = await createVmWire();
    const [a, b] = wire.ends;
    expect(a.local).toBe(b.remote);
    expect(a.remote).toBe(b.local);
    const dir = join(a.local, '..');
    expect(existsSync(dir)).toBe(true);
    await wire.remove();
    await wire.remove();
    expect(existsSync(dir)).toBe(false);
  });
});

describe('readVmImage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-vmimage-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads what setup-vm.sh recorded', async () => {
    for (const f of ['vmlinux', 'initrd', 'qemu']) await writeFile(join(dir, f), '');
    const image = { ...IMAGE, kernel: join(dir, 'vmlinux'), initrd: join(dir, 'initrd'), qemu: join(dir, 'qemu') };
    await writeFile(join(dir, 'vm.json'), JSON.stringify(image));
    expect(await readVmImage(dir)).toEqual(image);
  });

  it('without setup: VM_NOT_SET_UP naming the script', async () => {
    const error = await errorOf(readVmImage(dir));
    expect(error).toMatchObject({ code: 'VM_NOT_SET_UP', errorClass: 'dependency' });
    expect(error.message).toContain(join(dir, 'vm.json'));
    expect(error.hint).toContain('scripts/setup-vm.sh');
  });

  it('a manifest naming a file that is gone, or lacking a field: VM_NOT_SET_UP', async () => {
    await writeFile(join(dir, 'vm.json'), JSON.stringify({ ...IMAGE, kernel: join(dir, 'gone') }));
    expect((await errorOf(readVmImage(dir))).message).toContain(`${join(dir, 'gone')} (named in`);
    await writeFile(join(dir, 'vm.json'), JSON.stringify({ kernel: 'x' }));
    expect((await errorOf(readVmImage(dir))).message).toContain('lacks initrd, qemu, kernelPackage');
  });
});
