import { type ClusterConfig, type CommandRunner, type EventSink, ignoreEvents } from '@cluster-lab/core';
import type Dockerode from 'dockerode';
import { consulError } from '../consul-errors.js';
import { formatConsulVersion } from '../version/consul-version.js';
import { BinaryRuntime } from './binary-runtime.js';
import { type ConsulArch, consulImageForArch } from './consul-image.js';
import type { ConsulRuntime } from './consul-runtime.js';
import { ContainerRuntime } from './container-runtime.js';

/** Inputs of {@link chooseConsulRuntime}. */
export interface ChooseRuntimeOptions {
  config: ClusterConfig;
  runner: CommandRunner;
  /** Docker client; when absent, the container runtime is not available. */
  docker?: Dockerode;
  /** Directory for the binary runtime's pid and log files. */
  runDir: string;
  /** CPU architecture (`process.arch` or `uname -m`). Default `process.arch`. */
  arch?: string;
  /** Per-architecture image overrides. */
  images?: Partial<Record<ConsulArch, string>>;
  events?: EventSink;
}

/** The chosen runtime and why (for `--verbose` and `status`). */
export interface RuntimeChoice {
  runtime: ConsulRuntime;
  reason: string;
}

/**
 * Picks how Consul runs, by `config.consul.runtime`:
 * - `binary`: the host executable (`consul.binary`);
 * - `container`: the image for this CPU architecture, pulled if missing;
 * - `auto`: an installed executable first, then an image already present, then pulling the
 *   image (with progress events). Fails with `CONSUL_NOT_INSTALLED` when nothing works.
 *
 * @example
 * ```ts
 * const { runtime, reason } = await chooseConsulRuntime({ config, runner, docker, runDir: '/var/lib/cluster-lab/consul' });
 * ```
 */
export async function chooseConsulRuntime(options: ChooseRuntimeOptions): Promise<RuntimeChoice> {
  const { config, runner, docker } = options;
  const events = options.events ?? ignoreEvents;
  const binary = new BinaryRuntime({ runner, binary: config.consul.binary, runDir: options.runDir, events });
  const container = () => {
    if (!docker) {
      throw consulError('CONSUL_NOT_INSTALLED', 'the container runtime needs Docker, but no Docker client is available', {
        hint: `check docker.socket (${config.docker.socket}) or use consul.runtime: binary`,
        errorClass: 'dependency',
      });
    }
    return new ContainerRuntime({
      docker,
      image: consulImageForArch(options.arch ?? process.arch, config.consul.image, options.images),
      events,
    });
  };
  const mode = config.consul.runtime;
  if (mode === 'binary') {
    const version = await binary.installedVersion();
    if (!version) {
      throw consulError('CONSUL_NOT_INSTALLED', `consul.runtime is "binary" but the executable "${config.consul.binary}" was not found`, {
        hint: 'install Consul, set consul.binary to its path, or use consul.runtime: container',
        errorClass: 'dependency',
      });
    }
    return { runtime: binary, reason: `consul.runtime: binary (Consul ${formatConsulVersion(version)})` };
  }
  if (mode === 'container') {
    const runtime = container();
    return { runtime, reason: `consul.runtime: container (${runtime.describe()})` };
  }
  const version = await binary.installedVersion();
  if (version)
    return { runtime: binary, reason: `auto: found executable ${config.consul.binary} (Consul ${formatConsulVersion(version)})` };
  if (!docker) {
    throw consulError('CONSUL_NOT_INSTALLED', `no Consul available: executable "${config.consul.binary}" not found and no Docker client`, {
      hint: 'install Consul or Docker (the official image hashicorp/consul is then pulled)',
      errorClass: 'dependency',
    });
  }
  const runtime = container();
  let present: boolean;
  try {
    present = await runtime.hasImage();
  } catch (error) {
    throw consulError(
      'CONSUL_NOT_INSTALLED',
      `no Consul available: executable "${config.consul.binary}" not found and Docker does not answer`,
      {
        hint: `start dockerd (socket ${config.docker.socket}) or install Consul`,
        errorClass: 'dependency',
        cause: error,
      },
    );
  }
  if (present) return { runtime, reason: `auto: image present (${runtime.describe()})` };
  await runtime.pullImage();
  return { runtime, reason: `auto: pulled image (${runtime.describe()})` };
}
