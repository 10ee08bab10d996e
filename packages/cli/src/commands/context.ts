import { type ClusterConfig, ClusterLabError, loadConfig } from '@cluster-lab/core';
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

/** Loads the effective config: file ← `CLUSTER_LAB_*` env ← flags. */
export async function loadEffectiveConfig(
  flags: GlobalFlags & ConfigFlags,
  output?: Output,
): Promise<{ config: ClusterConfig; sources: string[] }> {
  const overrides: Record<string, unknown> = {};
  if (flags.stateDir) overrides.stateDir = flags.stateDir;
  if (flags.interface) overrides.interface = flags.interface;
  if (flags.role) overrides.role = flags.role;
  if (flags.backend) overrides.network = { backend: flags.backend };
  const loaded = await loadConfig({ ...(flags.config ? { file: flags.config } : {}), env: process.env, overrides });
  for (const w of loaded.warnings) output?.warn(w);
  return { config: loaded.config, sources: loaded.sources };
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
