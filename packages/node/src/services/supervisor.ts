import { mkdir, rm, rmdir } from 'node:fs/promises';
import { startDaemon, stopDaemon, writeFileAtomic } from '@cluster-lab/core';
import type { NodeFacts } from '../node-facts.js';
import type { DaemonRef, ServiceContext } from '../node-services.js';
import { supervisorStatusPath } from '../supervise/supervisor-status.js';

/** How `start` launches the node's supervisor process. */
export interface SupervisorLaunch {
  /**
   * Arguments for `process.execPath` that run your program's supervisor mode (a process that
   * calls `superviseNode`) with the given config file. The CLI passes
   * `(file) => cliArgv(['supervise', '--config', file])`.
   */
  argv: (configFile: string) => string[];
  /** Config file the supervisor reads; default: the effective config, written to the state dir. */
  configFile?: string;
}

/**
 * Starts the supervisor detached (idempotent: a live pid file means it runs). It gets the
 * effective config as a file (mode 0600: it may hold the gossip key) so it sees exactly the
 * config `start` used, whatever mix of file, environment and flags produced it.
 */
export async function startSupervisor(ctx: ServiceContext, launch: SupervisorLaunch): Promise<DaemonRef> {
  const { config, runner, paths } = ctx.node;
  await mkdir(paths.supervisor.dir, { recursive: true, mode: 0o700 });
  const configFile = launch.configFile ?? paths.supervisor.configFile;
  if (!launch.configFile) await writeFileAtomic(configFile, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  const handle = await startDaemon(runner, {
    name: 'cluster-lab supervise',
    file: process.execPath,
    args: launch.argv(configFile),
    pidFile: paths.supervisor.pidFile,
    logFile: paths.supervisor.logFile,
    logName: 'supervisor',
  });
  return { pidFile: handle.pidFile, started: handle.started };
}

/**
 * Stops the supervisor and removes its files — all but its log, kept (rotated at each start) for
 * post-mortems: it is the one that explains a failed leader hand-over. Safe twice; true when a
 * supervisor was running.
 */
export async function stopSupervisor(node: NodeFacts): Promise<boolean> {
  const paths = node.paths.supervisor;
  const stopped = await stopDaemon(paths.pidFile, { timeoutMs: 5000 });
  await rm(paths.configFile, { force: true });
  await rm(supervisorStatusPath(node), { force: true });
  await rmdir(paths.dir).catch(() => {});
  return stopped;
}
