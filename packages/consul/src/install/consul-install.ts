import { access, chmod, constants, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandRunner, findExecutable } from '@cluster-lab/core';
import { consulError } from '../consul-errors.js';
import { consulArch } from '../runtime/consul-image.js';
import { type ConsulVersion, formatConsulVersion, parseConsulVersion } from '../version/consul-version.js';

/** The Consul in Debian 11 (bullseye): the version `apt install consul` gives a Debian 11 / Raspberry Pi OS user. */
export const CONSUL_DEBIAN_VERSION = '1.8.7';
/** The Debian suite that carries {@link CONSUL_DEBIAN_VERSION} (later suites have no `consul` package). */
export const CONSUL_DEBIAN_SUITE = 'bullseye';
/** Where setup caches Consul builds, one folder per version, shared by every clone (`scripts/get-consul.sh`). */
export const CONSUL_CACHE_DIR = '/var/cache/cluster-lab/consul';
/** Debian's archive keyring, which signs the bullseye suite. */
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** Debian's CDN, used when the machine's own sources name no Debian mirror. */
const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
/** Debian architecture names of the Consul builds in bullseye, by Cluster Lab's architecture. */
const DEBIAN_ARCH = { amd64: 'amd64', arm64: 'arm64', armv7: 'armhf' } as const;

/** The cached Debian build's path: `<cacheDir>/<version>/consul`. */
export function debianConsulPath(cacheDir = CONSUL_CACHE_DIR, version = CONSUL_DEBIAN_VERSION): string {
  return join(cacheDir, version, 'consul');
}

/**
 * Finds a real `consul` executable: `name` (a path, or looked up on PATH like `command -v`), else
 * the build setup cached ({@link debianConsulPath}). Undefined when there is none.
 *
 * @example
 * ```ts
 * await findConsulBinary(); // '/work/repo/.tools/bin/consul' or '/var/cache/cluster-lab/consul/1.8.7/consul'
 * ```
 */
export async function findConsulBinary(name = 'consul', cacheDir = CONSUL_CACHE_DIR): Promise<string | undefined> {
  const onPath = await findExecutable(name);
  if (onPath) return onPath;
  const cached = debianConsulPath(cacheDir);
  try {
    await access(cached, constants.X_OK);
    return cached;
  } catch {
    return undefined;
  }
}

/** One way to get Consul on a machine, for `cluster-lab dependencies`. */
export interface ConsulInstallOption {
  /** Short name: `debian`, `hashicorp-apt`, `hashicorp-zip`, `image`. */
  id: 'debian' | 'hashicorp-apt' | 'hashicorp-zip' | 'image';
  title: string;
  /** Consul version it gives (`1.8.7`, `latest`). */
  version: string;
  /** The commands or steps, one per line. */
  steps: string[];
  /** Whether `installDebianConsul` does it for the user (the `--install` path). */
  automatic: boolean;
}

/**
 * How a user gets Consul ≥ 1.8 on `arch` (`process.arch` or `uname -m`), best first: Debian 11's
 * package (what `installDebianConsul` and `scripts/get-consul.sh` install, without changing the
 * machine's apt sources), HashiCorp's apt repository, HashiCorp's release zip, or the official
 * image for the container runtime. Pure.
 *
 * @example
 * ```ts
 * for (const o of consulInstallGuide('arm64')) console.log(o.title, o.steps.join('\n'));
 * ```
 */
export function consulInstallGuide(arch: string): ConsulInstallOption[] {
  const a = consulArch(arch);
  const deb = DEBIAN_ARCH[a];
  const zipArch = a === 'armv7' ? 'arm' : a;
  return [
    {
      id: 'debian',
      title: `Debian 11 (bullseye) package, ${deb}`,
      version: CONSUL_DEBIAN_VERSION,
      steps: [
        `sudo cluster-lab dependencies --install   # or: sudo bash scripts/setup.sh`,
        `fetches ${CONSUL_DEBIAN_SUITE}'s consul_${CONSUL_DEBIAN_VERSION}*_${deb}.deb with a private apt configuration (your apt sources stay as they are)`,
        `and keeps the binary in ${debianConsulPath()}`,
      ],
      automatic: true,
    },
    {
      id: 'hashicorp-apt',
      title: "HashiCorp's apt repository (Debian, Ubuntu, Raspberry Pi OS)",
      version: 'latest',
      steps: [
        'wget -O- https://apt.releases.hashicorp.com/gpg | sudo gpg --dearmor -o /usr/share/keyrings/hashicorp-archive-keyring.gpg',
        `echo "deb [arch=${deb} signed-by=/usr/share/keyrings/hashicorp-archive-keyring.gpg] https://apt.releases.hashicorp.com $(lsb_release -cs) main" | sudo tee /etc/apt/sources.list.d/hashicorp.list`,
        'sudo apt-get update && sudo apt-get install consul',
      ],
      automatic: false,
    },
    {
      id: 'hashicorp-zip',
      title: `HashiCorp's release zip (linux_${zipArch})`,
      version: 'latest',
      steps: [
        `download consul_<version>_linux_${zipArch}.zip from https://releases.hashicorp.com/consul/`,
        'unzip it into /usr/local/bin (or set consul.binary to its path)',
      ],
      automatic: false,
    },
    {
      id: 'image',
      title: `the official image hashicorp/consul (multi-arch, ${a === 'armv7' ? 'linux/arm/v7' : `linux/${a}`})`,
      version: 'latest',
      steps: ['set consul.runtime: container (consul.image: hashicorp/consul:<version>); the image is pulled on first start'],
      automatic: false,
    },
  ];
}

/** Options of {@link installDebianConsul}. */
export interface InstallDebianConsulOptions {
  /** Runs apt-get, dpkg and dpkg-deb. */
  runner: CommandRunner;
  /** Default `process.arch`. */
  arch?: string;
  /** Default {@link CONSUL_CACHE_DIR}. */
  cacheDir?: string;
  /** Default: the machine's Debian mirror (from its apt sources), else Debian's CDN. */
  mirror?: string;
  /** Where the machine's apt sources live (tests). Default `/etc/apt`. */
  aptDir?: string;
}

/** What {@link installDebianConsul} did. */
export interface InstalledConsul {
  binary: string;
  version: ConsulVersion;
  /** False when the cached build was already there. */
  downloaded: boolean;
  mirror?: string;
}

/**
 * Installs Debian 11's Consul ({@link CONSUL_DEBIAN_VERSION}) the way `scripts/get-consul.sh`
 * does: a private apt configuration in a temp dir (the machine's sources, lists and cache stay
 * untouched) fetches the bullseye package for this architecture, `dpkg-deb -x` extracts it, and
 * the binary lands in `<cacheDir>/<version>/consul`, checked with `consul version`. Does nothing
 * when that build is already cached. Needs root (apt) on a Debian-based system.
 *
 * @example
 * ```ts
 * const { binary } = await installDebianConsul({ runner: new ExecaRunner() });
 * ```
 */
export async function installDebianConsul(options: InstallDebianConsulOptions): Promise<InstalledConsul> {
  const { runner } = options;
  const cacheDir = options.cacheDir ?? CONSUL_CACHE_DIR;
  const binary = debianConsulPath(cacheDir);
  const cached = await versionOf(runner, binary);
  if (cached && formatConsulVersion(cached) === CONSUL_DEBIAN_VERSION) return { binary, version: cached, downloaded: false };

  const deb = DEBIAN_ARCH[consulArch(options.arch ?? process.arch)];
  const mirror = options.mirror ?? (await debianMirror(options.aptDir ?? '/etc/apt')) ?? DEBIAN_MIRROR;
  const tmp = await mkdtemp(join(tmpdir(), 'cluster-lab-consul-'));
  try {
    for (const d of ['lists/partial', 'cache/archives/partial', 'sources.list.d']) await mkdir(join(tmp, d), { recursive: true });
    await writeFile(join(tmp, 'sources.list'), `deb [arch=${deb} signed-by=${DEBIAN_KEYRING}] ${mirror} ${CONSUL_DEBIAN_SUITE} main\n`);
    const apt = privateAptOptions(tmp);
    const update = await runner.run('apt-get', [...apt, '-qq', '--error-on=any', 'update'], { reject: false, timeoutMs: 300_000 });
    if (update.exitCode !== 0) {
      throw consulError(
        'CONSUL_INSTALL_FAILED',
        `cannot read Debian's ${CONSUL_DEBIAN_SUITE} suite from ${mirror}: ${lastLine(update.stderr || update.stdout)}`,
        {
          hint: 'check the network or pass another Debian mirror; or install Consul ≥ 1.8 another way (`cluster-lab dependencies` lists them)',
          errorClass: 'dependency',
        },
      );
    }
    const download = await runner.run('apt-get', [...apt, '-qq', 'download', `consul:${deb}`], {
      reject: false,
      cwd: tmp,
      timeoutMs: 600_000,
    });
    const file = (await readdir(tmp)).find((f) => f.startsWith('consul_') && f.endsWith('.deb'));
    if (download.exitCode !== 0 || !file) {
      throw consulError(
        'CONSUL_INSTALL_FAILED',
        `downloading consul (${deb}) from ${mirror} failed: ${lastLine(download.stderr || download.stdout)}`,
        {
          hint: 'retry later or pass another Debian mirror',
          errorClass: 'dependency',
        },
      );
    }
    const { stdout: debVersion } = await runner.run('dpkg-deb', ['-f', join(tmp, file), 'Version']);
    if (!debVersion.trim().startsWith(`${CONSUL_DEBIAN_VERSION}+`) && !debVersion.trim().startsWith(`${CONSUL_DEBIAN_VERSION}-`)) {
      throw consulError(
        'CONSUL_INSTALL_FAILED',
        `Debian's ${CONSUL_DEBIAN_SUITE} suite now carries consul ${debVersion.trim()}, not ${CONSUL_DEBIAN_VERSION}`,
        {
          hint: 'update CONSUL_DEBIAN_VERSION (and scripts/get-consul.sh)',
        },
      );
    }
    await runner.run('dpkg-deb', ['-x', join(tmp, file), join(tmp, 'x')], { timeoutMs: 120_000 });
    await mkdir(join(cacheDir, CONSUL_DEBIAN_VERSION), { recursive: true });
    await copyFile(join(tmp, 'x', 'usr', 'bin', 'consul'), `${binary}.tmp`);
    await chmod(`${binary}.tmp`, 0o755);
    await rename(`${binary}.tmp`, binary);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const version = await versionOf(runner, binary);
  if (!version || formatConsulVersion(version) !== CONSUL_DEBIAN_VERSION) {
    throw consulError('CONSUL_INSTALL_FAILED', `the extracted ${binary} does not run on this machine`, { errorClass: 'dependency' });
  }
  return { binary, version, downloaded: true, mirror };
}

/** apt-get options that keep every file apt reads or writes in `dir`, away from the machine's own configuration and state. */
export function privateAptOptions(dir: string): string[] {
  return [
    ['Dir::Etc::sourcelist', join(dir, 'sources.list')],
    ['Dir::Etc::sourceparts', join(dir, 'sources.list.d')],
    ['Dir::State::Lists', join(dir, 'lists')],
    ['Dir::Cache', join(dir, 'cache')],
    ['APT::Sandbox::User', 'root'],
    ['Debug::NoLocking', '1'],
    ['Acquire::Retries', '1'],
    ['Acquire::http::Timeout', '20'],
  ].flatMap(([k, v]) => ['-o', `${k}=${v}`]);
}

/**
 * The Debian mirror the machine's apt already uses: the first non-security `URIs:` of a deb822
 * `*.sources` file, else the first `deb` line of `sources.list`. Undefined when there is none.
 */
export async function debianMirror(aptDir = '/etc/apt'): Promise<string | undefined> {
  const partsDir = join(aptDir, 'sources.list.d');
  const parts = (await readdir(partsDir).catch(() => [] as string[])).filter((f) => f.endsWith('.sources')).sort();
  for (const f of parts) {
    const text = await readFile(join(partsDir, f), 'utf8').catch(() => '');
    for (const m of text.matchAll(/^URIs:\s*(.+)$/gm)) {
      const uri = (m[1] ?? '').split(/\s+/).find((u) => /^[a-z]+:\/\//.test(u) && !u.includes('security'));
      if (uri) return uri;
    }
  }
  const list = await readFile(join(aptDir, 'sources.list'), 'utf8').catch(() => '');
  for (const line of list.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'deb') continue;
    const uri = words.find((w) => /^[a-z]+:\/\//.test(w));
    if (uri && !uri.includes('security')) return uri;
  }
  return undefined;
}

async function versionOf(runner: CommandRunner, binary: string): Promise<ConsulVersion | undefined> {
  const r = await runner.run(binary, ['version'], { reject: false, timeoutMs: 10_000 }).catch(() => undefined);
  if (r?.exitCode !== 0) return undefined;
  try {
    return parseConsulVersion(r.stdout, `${binary} version`);
  } catch {
    return undefined;
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
