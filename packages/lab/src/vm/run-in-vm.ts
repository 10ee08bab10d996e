import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterLabError, CommandError, type CommandRunner, ExecaRunner, tail } from '@cluster-lab/core';
import { readVmImage, type VmImage } from './vm-image.js';

/** `PATH` in the VM unless {@link VmRunOptions.env} sets one: the host's usual system folders. */
export const VM_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Default limit of one {@link runInVm} call: boot, command and power-off. */
export const VM_DEFAULT_TIMEOUT_MS = 120_000;

/** One end of a {@link VmWire}, given to a NIC in {@link VmNic.wire}. */
export interface VmWireEnd {
  /** Unix datagram socket this end receives on. */
  readonly local: string;
  /** Unix datagram socket of the other end. */
  readonly remote: string;
}

/**
 * A virtual Ethernet cable between two VM NICs (of one VM or of two): QEMU forwards every frame,
 * VLAN tags included, over a pair of unix datagram sockets — no IP traffic on the host.
 */
export interface VmWire extends AsyncDisposable {
  /** The two ends; plug each into one NIC. */
  readonly ends: readonly [VmWireEnd, VmWireEnd];
  /** Removes the sockets' folder; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Creates a {@link VmWire} in a fresh temp folder.
 *
 * @example
 * ```ts
 * await using wire = await createVmWire();
 * // one VM whose eth0 and eth1 are cabled to each other:
 * await runInVm({ command: ['ip', 'link'], nics: [{ wire: wire.ends[0] }, { wire: wire.ends[1] }] });
 * ```
 */
export async function createVmWire(): Promise<VmWire> {
  const dir = await mkdtemp(join(tmpdir(), 'cl-vmwire-'));
  const a = join(dir, 'a.sock');
  const b = join(dir, 'b.sock');
  const remove = () => rm(dir, { recursive: true, force: true });
  return {
    ends: [
      { local: a, remote: b },
      { local: b, remote: a },
    ],
    remove,
    [Symbol.asyncDispose]: remove,
  };
}

/** A virtio NIC of the VM; the first is `eth0`, the next `eth1`, … */
export interface VmNic {
  /** Cable it to this wire end. Without one the NIC has a carrier but leads nowhere. */
  wire?: VmWireEnd;
  /** MAC address; default a random locally administered one (two VMs on one wire need distinct MACs). */
  mac?: string;
}

/** Options of {@link runInVm}. */
export interface VmRunOptions {
  /**
   * The program and its arguments, run as root inside the host's root filesystem (read-only;
   * `/tmp`, `/run`, `/var/tmp` and `/dev/shm` are empty tmpfs). Passed as an argument list, never
   * through a shell; arguments may not contain a line break.
   */
  command: readonly string[];
  /** Working directory in the VM (a host path). Default `/`. */
  cwd?: string;
  /** The whole environment of the command (no host variable leaks in). Default `PATH` = {@link VM_DEFAULT_PATH}. */
  env?: Record<string, string>;
  /** The VM's NICs. Default: one NIC leading nowhere. */
  nics?: readonly VmNic[];
  /** Host folders the VM may write to, mounted at `/run/share0`, `/run/share1`, … (e.g. a rendezvous of two VMs). */
  shares?: readonly string[];
  /** Kill the VM after this long. Default {@link VM_DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Memory of the VM in MiB. Default 1024. */
  memoryMb?: number;
  /** Default {@link readVmImage}(). */
  image?: VmImage;
  /** Runs QEMU. Default a new ExecaRunner. */
  runner?: CommandRunner;
  /** Aborting it kills the VM (`VM_CANCELED`). */
  signal?: AbortSignal;
}

/** What the command in the VM did. */
export interface VmRunResult {
  /** Exit status of the command in the VM (not QEMU's, which is always 0). */
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The VM's serial console (kernel messages), for diagnosis. */
  console: string;
  /** Boot, command and power-off, in ms. */
  durationMs: number;
}

function checkLine(value: string, what: string): string {
  if (/[\n\r\0]/.test(value)) {
    throw new ClusterLabError('VM_BAD_ARGUMENT', `${what} ${JSON.stringify(value)} contains a line break or NUL`, {
      hint: 'the VM receives the command one argument per line; pass such data in a file in a shared folder',
      errorClass: 'usage',
    });
  }
  return value;
}

function randomMac(): string {
  // 52:54:00 is QEMU's prefix; the random rest keeps two VMs on one wire apart.
  return ['52', '54', '00', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** A value inside a QEMU option list, where a comma separates options unless doubled. */
function optionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** QEMU's command line for one run (without the program). Exported for tests. */
export function qemuArgs(image: VmImage, job: string, options: Pick<VmRunOptions, 'nics' | 'shares' | 'memoryMb'>): string[] {
  const args = ['-machine', 'q35,accel=tcg', '-cpu', 'max', '-smp', '1', '-m', String(options.memoryMb ?? 1024)];
  args.push('-nographic', '-display', 'none', '-no-reboot', '-nodefaults', '-serial', 'stdio');
  args.push('-kernel', image.kernel, '-initrd', image.initrd, '-append', 'console=ttyS0 panic=1 edd=off quiet');
  const share = (id: string, path: string, tag: string, readonly: boolean) =>
    args.push(
      '-fsdev',
      `local,id=${id},path=${optionValue(path)},security_model=none${readonly ? ',readonly=on,multidevs=remap' : ''}`,
      '-device',
      `virtio-9p-pci,fsdev=${id},mount_tag=${tag}`,
    );
  share('root', '/', 'root', true);
  share('job', job, 'job', false);
  for (const [i, dir] of (options.shares ?? []).entries()) share(`share${i}`, dir, `share${i}`, false);
  const nics = options.nics ?? [{}];
  for (const [i, nic] of nics.entries()) {
    const netdev = nic.wire
      ? `dgram,id=n${i},local.type=unix,local.path=${optionValue(nic.wire.local)},remote.type=unix,remote.path=${optionValue(nic.wire.remote)}`
      : // Isolated: the guest reaches neither the host nor anything beyond it.
        `user,id=n${i},restrict=on`;
    args.push('-netdev', netdev, '-device', `virtio-net-pci,netdev=n${i},mac=${nic.mac ?? randomMac()},romfile=`);
  }
  return args;
}

/**
 * Boots Debian's kernel in QEMU (TCG; no KVM needed), runs `command` in the host's own root
 * filesystem shared read-only over 9p, and returns the command's exit status and output. The
 * command's output and status come back through a writable job folder (QEMU itself exits 0
 * whatever happens in the VM); a VM that powers off without a status, or runs past
 * `timeoutMs`, is an error carrying the console's last lines. The VM is killed and the job
 * folder removed on every path. Needs root (9p with `security_model=none`) and
 * `scripts/setup-vm.sh`; one run takes ~5–10 s.
 *
 * @example
 * ```ts
 * const { exitCode, stdout } = await runInVm({ command: ['ip', '-j', '-d', 'link', 'show'] });
 * ```
 */
export async function runInVm(options: VmRunOptions): Promise<VmRunResult> {
  if (options.command.length === 0) throw new TypeError('runInVm: `command` is empty');
  const argv = options.command.map((a) => checkLine(a, 'argument'));
  const env = Object.entries(options.env ?? { PATH: VM_DEFAULT_PATH }).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new TypeError(`runInVm: bad environment variable name ${JSON.stringify(k)}`);
    return checkLine(`${k}=${v}`, 'environment entry');
  });
  const image = options.image ?? (await readVmImage());
  const runner = options.runner ?? new ExecaRunner();
  const timeoutMs = options.timeoutMs ?? VM_DEFAULT_TIMEOUT_MS;
  const job = await mkdtemp(join(tmpdir(), 'cl-vmjob-'));
  try {
    await writeFile(join(job, 'argv'), `${argv.join('\n')}\n`);
    await writeFile(join(job, 'env'), env.length ? `${env.join('\n')}\n` : '');
    await writeFile(join(job, 'cwd'), `${checkLine(options.cwd ?? '/', 'working directory')}\n`);
    // The VM's own deadline, for when this process dies and cannot kill QEMU: a bit after ours.
    await writeFile(join(job, 'timeout'), `${Math.ceil(timeoutMs / 1000) + 10}\n`);
    if (options.shares?.length) await writeFile(join(job, 'shares'), `${options.shares.map((_, i) => `share${i}`).join('\n')}\n`);
    const command = `${argv.join(' ')} (in the VM)`;
    let consoleLog = '';
    let durationMs = 0;
    try {
      const result = await runner.run(image.qemu, qemuArgs(image, job, options), {
        timeoutMs,
        reject: false,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      consoleLog = result.stdout;
      durationMs = result.durationMs;
      if (result.exitCode !== 0) {
        throw new ClusterLabError('VM_FAILED', `QEMU failed to start the VM for ${command}: ${tail(result.stderr, 5)}`, {
          hint: 'check the QEMU installation (`bash scripts/setup-vm.sh`)',
        });
      }
    } catch (error) {
      if (error instanceof CommandError && (error.timedOut || error.isCanceled)) {
        if (error.isCanceled) throw new ClusterLabError('VM_CANCELED', `the VM running ${command} was canceled`, { cause: error });
        throw new ClusterLabError(
          'VM_TIMEOUT',
          `the VM running ${command} did not finish within ${Math.round(timeoutMs / 1000)} s; console:\n${tail(error.stdout, 15)}`,
          { hint: 'raise timeoutMs, or look at the console lines for a hang', cause: error },
        );
      }
      throw error;
    }
    const read = (name: string) => readFile(join(job, name), 'utf8').catch(() => undefined);
    const status = await read('status');
    if (status === undefined || !/^\d+\s*$/.test(status)) {
      throw new ClusterLabError('VM_FAILED', `the VM powered off without finishing ${command}; console:\n${tail(consoleLog, 15)}`, {
        hint: 'the console lines above show where the boot stopped (vm-init.sh prints what it could not do)',
      });
    }
    return {
      exitCode: Number(status),
      stdout: (await read('stdout')) ?? '',
      stderr: (await read('stderr')) ?? '',
      console: consoleLog,
      durationMs,
    };
  } finally {
    await rm(job, { recursive: true, force: true });
  }
}
