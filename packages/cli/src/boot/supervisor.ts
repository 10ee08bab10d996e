import { mkdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClusterConfig, type CommandRunner, startDaemon, stopDaemon, writeFileAtomic } from '@cluster-lab/core';
import { cliArgv } from '../lab/run-in-nodes.js';
import type { DaemonRef } from './node-services.js';

/** Files of the supervisor process, inside `<stateDir>/supervisor/`. */
export function supervisorPaths(config: ClusterConfig): { dir: string; pidFile: string; logFile: string; configFile: string } {
  const dir = join(config.stateDir, 'supervisor');
  return { dir, pidFile: join(dir, 'supervisor.pid'), logFile: join(dir, 'supervisor.log'), configFile: join(dir, 'config.json') };
}

/**
 * Starts `cluster-lab supervise` detached (idempotent: a live pid file means it runs). It gets
 * the effective config as a file (mode 0600: it may hold the gossip key) so it sees exactly the
 * config `start` used, whatever mix of file, environment and flags produced it.
 */
export async function startSupervisor(config: ClusterConfig, options: { runner: CommandRunner; configFile?: string }): Promise<DaemonRef> {
  const paths = supervisorPaths(config);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const configFile = options.configFile ?? paths.configFile;
  if (!options.configFile) await writeFileAtomic(paths.configFile, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  const handle = await startDaemon(options.runner, {
    name: 'cluster-lab supervise',
    file: process.execPath,
    args: cliArgv(['supervise', '--config', configFile]),
    pidFile: paths.pidFile,
    logFile: paths.logFile,
  });
  return { pidFile: handle.pidFile, started: handle.started };
}

/** Stops the supervisor and removes its files. Safe twice. */
export async function stopSupervisor(config: ClusterConfig): Promise<boolean> {
  const paths = supervisorPaths(config);
  const stopped = await stopDaemon(paths.pidFile, { timeoutMs: 5000 });
  await rm(paths.configFile, { force: true });
  await rm(paths.logFile, { force: true });
  await rmdir(paths.dir).catch(() => {});
  return stopped;
}
