import { open, readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ClusterLabError,
  type CommandRunner,
  describeError,
  isProcessAlive,
  killAndWait,
  readPidFile,
  startDaemon,
} from '@cluster-lab/core';
import Docker from 'dockerode';
import { assertSocketPath } from './lab-paths.js';
import type { LabDockerdState } from './lab-state.js';

/** How long {@link startDockerd} waits for `/_ping` to answer by default. */
export const DEFAULT_DOCKERD_TIMEOUT_MS = 30_000;

/** Grace period dockerd gives containers on shutdown (its default, 15 s, would make every destroy slow). */
export const DOCKERD_SHUTDOWN_TIMEOUT_S = 2;

/** How long {@link stopDockerd} waits after SIGTERM before SIGKILL. */
export const DOCKERD_STOP_TIMEOUT_MS = 15_000;

/** Where cgroup hierarchies are mounted; container cgroups below the lab's parent are removed on destroy. */
export const CGROUP_ROOT = '/sys/fs/cgroup';

/** Paths of one node's dockerd (all below the node's own directory). */
export interface DockerdPaths extends LabDockerdState {
  /** Pid file dockerd writes itself (`--pidfile`), separate from the lab's spawn pid file. */
  dockerPidFile: string;
  logFile: string;
}

/** Options of {@link dockerdArgs}. */
export interface DockerdFlags {
  /**
   * Let dockerd manage iptables and a default bridge inside the node's namespace. Off by default:
   * containers then use `--network none`/`host` or Swarm overlays, and dockerd loads no
   * netfilter modules on the host.
   */
  iptables?: boolean;
  /** Extra dockerd arguments, appended last. */
  extraArgs?: readonly string[];
}

/** Derives the dockerd paths of node `node` of lab `labId` from its directory. */
export function dockerdPaths(nodeDir: string, labId: string, node: string): DockerdPaths {
  const socket = `${nodeDir}/docker.sock`;
  assertSocketPath(socket);
  // containerd puts its sockets below the exec root: keep that path short too.
  assertSocketPath(`${nodeDir}/x/containerd/containerd.sock.ttrpc`);
  return {
    node,
    socket,
    dataRoot: `${nodeDir}/docker`,
    execRoot: `${nodeDir}/x`,
    pidFile: `${nodeDir}/dockerd.pid`,
    dockerPidFile: `${nodeDir}/docker.pid`,
    logFile: `${nodeDir}/dockerd.log`,
    cgroupParent: `/cl-${labId}-${node}`,
  };
}

/** The dockerd command line for one node (run through the node's runner). */
export function dockerdArgs(paths: DockerdPaths, flags: DockerdFlags = {}): string[] {
  const net = flags.iptables ? [] : ['--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false'];
  return [
    `--data-root=${paths.dataRoot}`,
    `--exec-root=${paths.execRoot}`,
    `--host=unix://${paths.socket}`,
    `--pidfile=${paths.dockerPidFile}`,
    `--cgroup-parent=${paths.cgroupParent}`,
    `--shutdown-timeout=${DOCKERD_SHUTDOWN_TIMEOUT_S}`,
    ...net,
    ...(flags.extraArgs ?? []),
  ];
}

/** True when dockerd answers `GET /_ping` on `socket`. */
export function pingDocker(socket: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Starts dockerd inside a node (through the node's runner, so it gets the node's network and
 * hostname) and waits until its socket answers. On timeout or early exit dockerd is stopped and
 * the error carries the tail of its log.
 */
export async function startDockerd(
  nodeRunner: CommandRunner,
  paths: DockerdPaths,
  options: DockerdFlags & { timeoutMs?: number } = {},
): Promise<number> {
  if ((await readPidFile(paths.pidFile)) === undefined) await clearLeftoversOfKilledDockerd(paths);
  try {
    const handle = await startDaemon(nodeRunner, {
      name: `dockerd of ${paths.node}`,
      file: 'dockerd',
      args: dockerdArgs(paths, options),
      pidFile: paths.pidFile,
      logFile: paths.logFile,
      ready: () => pingDocker(paths.socket),
      readyTimeoutMs: options.timeoutMs ?? DEFAULT_DOCKERD_TIMEOUT_MS,
      pollMs: 50,
    });
    return handle.pid;
  } catch (error) {
    throw new ClusterLabError('LAB_DOCKERD_NOT_READY', `dockerd of lab node "${paths.node}" did not start: ${describeError(error)}`, {
      hint: `see ${paths.logFile}; is docker.io installed (\`dockerd --version\`)?`,
      cause: error,
    });
  }
}

/**
 * A dockerd that was killed (kill -9, OOM, crash) leaves its pid files behind and its containerd
 * either a zombie no one reaps or still shutting down (its parent-death signal arrives late). A
 * new dockerd refuses a stale pid file ("pid file found"), and when containerd's pid file names a
 * process that is still alive it reuses that dying containerd and gives up after about ten
 * seconds ("timeout waiting for containerd to start"). Only called when the node's dockerd is not
 * running, so the containerd below its exec root is an orphan: end it, then drop both pid files.
 */
async function clearLeftoversOfKilledDockerd(paths: DockerdPaths): Promise<void> {
  const orphan = await containerdPid(paths.execRoot);
  if (orphan !== undefined) await killAndWait(orphan, DOCKERD_STOP_TIMEOUT_MS);
  if ((await readPidFile(paths.dockerPidFile)) === undefined) await rm(paths.dockerPidFile, { force: true });
  await rm(`${paths.execRoot}/containerd/containerd.pid`, { force: true });
}

/**
 * Stops a node's dockerd by its pid file and waits for it and its containerd; then removes the
 * container cgroups below its cgroup parent. Running containers are killed first: the lab is
 * throwaway, and dockerd would otherwise give each one its 10 s stop timeout. Safe when dockerd
 * is already gone.
 */
export async function stopDockerd(dockerd: LabDockerdState): Promise<void> {
  await killContainers(dockerd.socket);
  const pid = await readPidFile(dockerd.pidFile);
  if (pid !== undefined) {
    const containerd = await containerdPid(dockerd.execRoot);
    const logFile = dockerd.pidFile.replace(/dockerd\.pid$/, 'dockerd.log');
    const logStart = await stat(logFile).then(
      (s) => s.size,
      () => 0,
    );
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    const deadline = Date.now() + DOCKERD_STOP_TIMEOUT_MS;
    while ((await isProcessAlive(pid)) && Date.now() < deadline) {
      if (await logSays(logFile, logStart, SHUTDOWN_COMPLETE)) {
        // dockerd has finished its shutdown but then idles about a second waiting on its
        // containerd connection; nothing is left for it to do, so end both now.
        if (containerd !== undefined) await killAndWait(containerd, DOCKERD_STOP_TIMEOUT_MS);
        await killAndWait(pid, SHUTDOWN_GRACE_MS);
        break;
      }
      await sleep(20);
    }
    if (await isProcessAlive(pid)) await killAndWait(pid, 0, 'SIGKILL');
    if (containerd !== undefined && (await isProcessAlive(containerd))) await killAndWait(containerd, DOCKERD_STOP_TIMEOUT_MS);
  }
  await rm(dockerd.pidFile, { force: true });
  await removeCgroups(dockerd.cgroupParent);
}

/** The line dockerd logs once its own shutdown is done. */
const SHUTDOWN_COMPLETE = 'Daemon shutdown complete';

/** How long a dockerd that reported its shutdown complete gets to exit before SIGKILL. */
export const SHUTDOWN_GRACE_MS = 50;

async function logSays(file: string, from: number, text: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const { size } = await handle.stat();
    if (size <= from) return false;
    const buffer = Buffer.alloc(size - from);
    await handle.read(buffer, 0, buffer.length, from);
    return buffer.toString('utf8').includes(text);
  } finally {
    await handle.close();
  }
}

/** Pid of the containerd that dockerd started under `execRoot`, when it still runs (checked by command line, so a reused pid is never signalled). */
export async function containerdPid(execRoot: string): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(`${execRoot}/containerd/containerd.pid`, 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.startsWith('containerd\0') && cmdline.includes(`${execRoot}/containerd`) ? pid : undefined;
}

/** Sends SIGKILL to every running container of the dockerd at `socket`; returns their ids. Nothing when dockerd does not answer. */
export async function killContainers(socket: string): Promise<string[]> {
  if (!(await pingDocker(socket))) return [];
  const docker = new Docker({ socketPath: socket, timeout: 10_000 });
  const running = await docker.listContainers();
  await Promise.all(
    running.map((c) =>
      docker
        .getContainer(c.Id)
        .kill()
        .catch(() => undefined),
    ),
  );
  return running.map((c) => c.Id);
}

/** Removes directory `parent` (and empty children) from every cgroup hierarchy; absent is fine. */
export async function removeCgroups(parent: string, root = CGROUP_ROOT): Promise<void> {
  let hierarchies: string[];
  try {
    hierarchies = await readdir(root);
  } catch {
    return;
  }
  await Promise.all(hierarchies.map((h) => removeTree(`${root}/${h}${parent}`)));
}

async function removeTree(dir: string): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  // cgroupfs directories are removed with rmdir (their files are virtual), children first.
  await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => removeTree(`${dir}/${e.name}`)));
  await rmdir(dir).catch(() => undefined);
}
