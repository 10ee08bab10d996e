import { type ClusterConfig, ClusterLabError, loadConfig, STATE_LOCK_WAIT_MS, withStateLock } from '@cluster-lab/core';
import { Output, outputOptions } from '../output/output.js';

/** Global flags every command accepts. */
export interface GlobalFlags {
  config?: string;
  stateDir?: string;
  verbose?: boolean;
  json?: boolean;
}

/** Config-shaped overrides from command flags (`--interface`, `--backend`, `--role`). */
export interface ConfigFlags {
  interface?: string;
  backend?: string;
  role?: string;
}

/** Builds the output renderer for the given flags. */
export function makeOutput(flags: GlobalFlags): Output {
  return new Output(outputOptions(flags));
}

/** Loads the effective config: file (`--config` > `CLUSTER_LAB_CONFIG` > default paths) ← `CLUSTER_LAB_*` env ← flags. */
export async function loadEffectiveConfig(
  flags: GlobalFlags & ConfigFlags,
  output?: Output,
): Promise<{ config: ClusterConfig; sources: string[] }> {
  const overrides: Record<string, unknown> = {};
  if (flags.stateDir) overrides.stateDir = flags.stateDir;
  if (flags.interface) overrides.interface = flags.interface;
  if (flags.role) overrides.role = flags.role;
  if (flags.backend) overrides.network = { backend: flags.backend };
  const loaded = await loadConfig({ ...configFile(flags, process.env), env: process.env, overrides });
  for (const w of loaded.warnings) output?.warn(w);
  return { config: loaded.config, sources: loaded.sources };
}

/**
 * The config file to read and what named it: `--config`, else `CLUSTER_LAB_CONFIG`, else none
 * (the loader then looks in the default places).
 */
export function configFile(flags: GlobalFlags, env: Record<string, string | undefined>): { file?: string; fileOrigin?: string } {
  if (flags.config) return { file: flags.config, fileOrigin: '--config' };
  const fromEnv = env.CLUSTER_LAB_CONFIG;
  return fromEnv ? { file: fromEnv, fileOrigin: 'CLUSTER_LAB_CONFIG' } : {};
}

/** Commands that change the machine need root; refuse early with exit code 2. */
export function requireRoot(command: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new ClusterLabError('NOT_ROOT', `\`cluster-lab ${command}\` changes network links, DHCP and daemons and must run as root`, {
      hint: `run: sudo cluster-lab ${command}`,
      errorClass: 'usage',
    });
  }
}

/**
 * Runs `fn` holding the lock of the node's state dir, so one `start`/`stop`/`restart` acts on a
 * node at a time (a user and the systemd unit, or two terminals). A second run says who it waits
 * for, waits up to {@link STATE_LOCK_WAIT_MS}, then fails naming the holder's pid and command.
 */
export function withNodeLock<T>(
  config: Pick<ClusterConfig, 'stateDir'>,
  command: string,
  out: Output,
  fn: () => Promise<T>,
  options: { signal?: AbortSignal; waitMs?: number } = {},
): Promise<T> {
  const waitMs = options.waitMs ?? STATE_LOCK_WAIT_MS;
  return withStateLock(config.stateDir, fn, {
    command: `cluster-lab ${command}`,
    waitMs,
    onWait: (holder) =>
      out.warn(
        `${config.stateDir} is in use by ${holder ? `pid ${holder.pid} (\`${holder.command}\`)` : 'another cluster-lab run'}; waiting up to ${waitMs / 1000} s for it to finish`,
      ),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
