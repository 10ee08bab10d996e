import { setTimeout as sleep } from 'node:timers/promises';
import { type EventSink, ignoreEvents } from '@cluster-lab/core';
import type Dockerode from 'dockerode';
import { consulError, formatDuration } from '../consul-errors.js';
import { type ConsulVersion, parseConsulVersion } from '../version/consul-version.js';
import type { ConsulImageChoice } from './consul-image.js';
import {
  CONSUL_LEAVE_POLL_MS,
  CONSUL_READY_LINE,
  CONSUL_READY_POLL_MS,
  type ConsulRuntime,
  type ConsulRuntimeStatus,
  type ConsulStartSpec,
  type ConsulStopOptions,
  DEFAULT_READY_TIMEOUT_MS,
} from './consul-runtime.js';

/** Default container name (one Consul agent per host). */
export const CONSUL_CONTAINER_NAME = 'cluster-lab-consul';
/** Where the official image's entrypoint reads config and keeps data (`-config-dir`, `-data-dir`). */
export const CONTAINER_CONFIG_DIR = '/consul/config';
/** Data directory inside the container. */
export const CONTAINER_DATA_DIR = '/consul/data';
/** Label on everything we create, so `stop` removes only our container. */
export const CONSUL_CONTAINER_LABEL = 'cluster-lab.component';

/**
 * Image labels that carry the Consul version, in the order we read them: the OCI annotation the
 * official image sets, its older `version` label, and ours (`buildLocalConsulImage`).
 */
export const CONSUL_VERSION_LABELS = ['org.opencontainers.image.version', 'version'] as const;

/** Options of {@link ContainerRuntime}. */
export interface ContainerRuntimeOptions {
  docker: Dockerode;
  /** Image and platform, from `consulImageForArch`. */
  image: ConsulImageChoice;
  /** Pull the image when it is missing. Default true. */
  pull?: boolean;
  name?: string;
  /** Receives pull progress and state changes (never config contents). */
  events?: EventSink;
  /** Seconds Docker waits after SIGTERM before SIGKILL on stop. Default 10. */
  stopTimeoutSeconds?: number;
}

/**
 * Runs Consul as a container: host networking (Consul binds the cluster address itself),
 * restart policy `unless-stopped` (comes back after a reboot or crash, but not after our
 * `stop`), the host data dir mounted at `/consul/data`, and the rendered config file mounted
 * read-only into `/consul/config/`. Equivalent to:
 * `docker run -d --name cluster-lab-consul --network host --restart unless-stopped -v <data>:/consul/data -v <cfg>:/consul/config/cluster-lab.json:ro -e CONSUL_DISABLE_PERM_MGMT=1 hashicorp/consul:1.20 agent`.
 *
 * @example
 * ```ts
 * const runtime = new ContainerRuntime({ docker: new Dockerode(), image: consulImageForArch(process.arch, config.consul.image) });
 * await runtime.start({ configFile, dataDir, nodeName: 'pi1' });
 * ```
 */
export class ContainerRuntime implements ConsulRuntime {
  readonly kind = 'container' as const;
  readonly name: string;
  private readonly events: EventSink;
  private detected: Promise<ConsulVersion> | undefined;
  private begun = false;

  constructor(private readonly options: ContainerRuntimeOptions) {
    this.name = options.name ?? CONSUL_CONTAINER_NAME;
    this.events = options.events ?? ignoreEvents;
  }

  describe(): string {
    return `container ${this.name} (${this.options.image.image}, ${this.options.image.platform})`;
  }

  /** True when the image is in the local image store. */
  async hasImage(): Promise<boolean> {
    try {
      await this.options.docker.getImage(this.options.image.image).inspect();
      return true;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return false;
      throw this.dockerError('inspect image', error);
    }
  }

  /** Pulls the image for the configured platform, emitting progress events. */
  async pullImage(): Promise<void> {
    const { image, platform } = this.options.image;
    this.log('info', `pulling ${image} for ${platform}`);
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.options.docker.pull(image, { platform })) as NodeJS.ReadableStream;
    } catch (error) {
      throw consulError('CONSUL_IMAGE_UNAVAILABLE', `cannot pull ${image} (${platform}): ${(error as Error).message}`, {
        hint: 'check the registry is reachable, or load the image with `docker load`, or install the consul binary (consul.runtime: binary)',
        errorClass: 'dependency',
        cause: error,
      });
    }
    let lastStatus = '';
    await new Promise<void>((resolve, reject) => {
      this.options.docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolve()),
        (event: { status?: string; id?: string; progress?: string; error?: string }) => {
          if (event.error) return;
          // One line per layer state change, not per progress tick.
          const line = `${event.id ? `${event.id}: ` : ''}${event.status ?? ''}`;
          if (line && line !== lastStatus && !event.progress) this.log('debug', `pull ${image}: ${line}`);
          lastStatus = line;
        },
      );
    }).catch((error: Error) => {
      throw consulError('CONSUL_IMAGE_UNAVAILABLE', `pulling ${image} (${platform}) failed: ${error.message}`, {
        errorClass: 'dependency',
        cause: error,
      });
    });
    this.log('info', `pulled ${image}`);
  }

  /**
   * The image's Consul version, without running it: the version label
   * ({@link CONSUL_VERSION_LABELS}), else the `CONSUL_VERSION` env the official image sets, else
   * the image tag (`hashicorp/consul:1.20.1`). Pulls the image first when it is missing.
   */
  version(): Promise<ConsulVersion> {
    this.detected ??= this.detectVersion();
    this.detected.catch(() => {
      this.detected = undefined;
    });
    return this.detected;
  }

  private async detectVersion(): Promise<ConsulVersion> {
    await this.ensureImage();
    const { image } = this.options.image;
    const info = await this.options.docker.getImage(image).inspect();
    return consulVersionOfImage(image, info.Config?.Labels ?? {}, info.Config?.Env ?? []);
  }

  private async ensureImage(): Promise<void> {
    if (await this.hasImage()) return;
    if (this.options.pull === false) {
      throw consulError('CONSUL_IMAGE_UNAVAILABLE', `image ${this.options.image.image} is not present and pulling is disabled`, {
        hint: 'load the image with `docker load` or allow pulling',
        errorClass: 'dependency',
      });
    }
    await this.pullImage();
  }

  async start(spec: ConsulStartSpec): Promise<{ started: boolean }> {
    const begun = await this.begin(spec);
    await this.waitRunning(spec.readyTimeoutMs);
    return begun;
  }

  async begin(spec: ConsulStartSpec): Promise<{ started: boolean }> {
    const docker = this.options.docker;
    const existing = await this.inspect();
    if (existing?.State?.Running) return { started: false };
    if (existing) {
      // A stopped leftover (crash, reboot with the daemon down): replace it, its config may be stale.
      await docker.getContainer(existing.Id).remove({ force: true, v: false });
    }
    await this.ensureImage();
    let container: Dockerode.Container;
    try {
      container = await docker.createContainer({
        name: this.name,
        Image: this.options.image.image,
        Cmd: ['agent'],
        // Keep the entrypoint's user switch off: the config file is root-only (0600, it holds the
        // gossip key and ACL token) and the official entrypoint would drop to user `consul`.
        Env: ['CONSUL_DISABLE_PERM_MGMT=1'],
        Labels: { [CONSUL_CONTAINER_LABEL]: 'consul', 'cluster-lab.node': spec.nodeName },
        HostConfig: {
          NetworkMode: 'host',
          RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
          Binds: [`${spec.dataDir}:${CONTAINER_DATA_DIR}`, `${spec.configFile}:${CONTAINER_CONFIG_DIR}/cluster-lab.json:ro`],
        },
      });
      await container.start();
    } catch (error) {
      throw this.dockerError('start container', error);
    }
    this.log('info', `started ${this.describe()}`);
    this.begun = true;
    return { started: true };
  }

  async waitRunning(timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
    if (!this.begun) return;
    this.begun = false;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await this.inspect();
      const logs = await this.logs(200);
      if (logs.includes(CONSUL_READY_LINE)) return;
      if (!info?.State?.Running && info?.State?.Status === 'exited') {
        throw consulError(
          'CONSUL_START_FAILED',
          `Consul container ${this.name} exited (code ${info.State.ExitCode}):\n${logs.trim().split('\n').slice(-15).join('\n')}`,
          {
            hint: `see \`docker logs ${this.name}\``,
          },
        );
      }
      if (Date.now() >= deadline) {
        throw consulError(
          'CONSUL_START_FAILED',
          `Consul container ${this.name} not ready within ${formatDuration(timeoutMs)}:\n${logs.trim().split('\n').slice(-15).join('\n')}`,
          {
            hint: `see \`docker logs ${this.name}\``,
          },
        );
      }
      await new Promise((r) => setTimeout(r, CONSUL_READY_POLL_MS));
    }
  }

  async stop(options: ConsulStopOptions = {}): Promise<boolean> {
    this.begun = false;
    const info = await this.inspect();
    if (!info) return false;
    if (info.Config?.Labels?.[CONSUL_CONTAINER_LABEL] !== 'consul') {
      throw consulError('CONSUL_START_FAILED', `container ${this.name} exists but was not created by Cluster Lab; not touching it`, {
        hint: 'rename or remove that container yourself',
      });
    }
    const container = this.options.docker.getContainer(info.Id);
    const seconds = this.options.stopTimeoutSeconds ?? 10;
    try {
      if (info.State?.Running) {
        if (options.leave === 'none') await this.signalAndWait(container, 'SIGINT', seconds * 1000);
        else if (options.left) await this.leaveThenExit(container, seconds * 1000, options.left);
        else await container.stop({ t: seconds });
      }
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 304 && (error as { statusCode?: number }).statusCode !== 404)
        throw this.dockerError('stop container', error);
    }
    try {
      await container.remove({ force: true });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404 && (error as { statusCode?: number }).statusCode !== 409)
        throw this.dockerError('remove container', error);
    }
    this.log(
      'info',
      `stopped and removed container ${this.name}${options.leave === 'none' ? ' (no leave: the whole cluster is stopping)' : ''}`,
    );
    return Boolean(info.State?.Running);
  }

  /** Sends `signal` and waits until the container has exited; after `timeoutMs` the caller's remove kills it. */
  private async signalAndWait(container: Dockerode.Container, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    await container.kill({ signal });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && (await this.isRunning(container))) await sleep(CONSUL_LEAVE_POLL_MS);
  }

  /** The container's version of the binary runtime's leave: SIGTERM, then a second SIGTERM once `left` says done. */
  private async leaveThenExit(container: Dockerode.Container, timeoutMs: number, left: () => Promise<boolean>): Promise<void> {
    await container.kill({ signal: 'SIGTERM' });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && (await this.isRunning(container))) {
      if (await left().catch(() => false)) {
        await this.signalAndWait(container, 'SIGTERM', Math.max(0, deadline - Date.now()));
        return;
      }
      await sleep(CONSUL_LEAVE_POLL_MS);
    }
  }

  private async isRunning(container: Dockerode.Container): Promise<boolean> {
    try {
      return Boolean(((await container.inspect()) as { State?: { Running?: boolean } }).State?.Running);
    } catch {
      return false;
    }
  }

  async status(): Promise<ConsulRuntimeStatus> {
    const info = await this.inspect();
    if (!info) return { running: false, detail: `container ${this.name} does not exist` };
    const running = Boolean(info.State?.Running);
    return {
      running,
      pid: info.State?.Pid || undefined,
      containerId: info.Id,
      detail: `container ${this.name} ${info.State?.Status ?? 'unknown'} (${info.Config?.Image ?? this.options.image.image}, restart ${info.HostConfig?.RestartPolicy?.Name ?? '?'})`,
    };
  }

  async logs(lines = 100): Promise<string> {
    const info = await this.inspect();
    if (!info) return '';
    const buf = (await this.options.docker
      .getContainer(info.Id)
      .logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demux(buf, Boolean(info.Config?.Tty));
  }

  /** Inspect result of our container, or undefined when absent. */
  async inspect(): Promise<Dockerode.ContainerInspectInfo | undefined> {
    try {
      return await this.options.docker.getContainer(this.name).inspect();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw this.dockerError('inspect container', error);
    }
  }

  private dockerError(what: string, error: unknown) {
    return consulError('CONSUL_START_FAILED', `docker: ${what} ${this.name} failed: ${(error as Error).message}`, {
      hint: 'is dockerd running and is the socket in docker.socket correct?',
      cause: error,
    });
  }

  private log(level: 'info' | 'debug' | 'warn', message: string): void {
    this.events({ type: 'log', level, message, source: 'consul' });
  }
}

/**
 * Reads the Consul version an image carries (see {@link ContainerRuntime.version}) from its
 * labels, env and name. Throws `CONSUL_VERSION_UNKNOWN` naming the image when none says it.
 *
 * @example
 * ```ts
 * consulVersionOfImage('cluster-lab/consul:1.8.7', { 'org.opencontainers.image.version': '1.8.7' }, []);
 * ```
 */
export function consulVersionOfImage(image: string, labels: Record<string, string>, env: string[]): ConsulVersion {
  for (const label of CONSUL_VERSION_LABELS) {
    const value = labels[label];
    if (value) return parseConsulVersion(value, `label ${label} of image ${image}`);
  }
  const fromEnv = env.find((e) => e.startsWith('CONSUL_VERSION='));
  if (fromEnv) return parseConsulVersion(fromEnv.slice('CONSUL_VERSION='.length), `env CONSUL_VERSION of image ${image}`);
  const colon = image.lastIndexOf(':');
  const tag = colon > image.lastIndexOf('/') ? image.slice(colon + 1) : '';
  if (/^v?\d+\.\d+/.test(tag)) return parseConsulVersion(tag, `tag of image ${image}`);
  throw consulError(
    'CONSUL_VERSION_UNKNOWN',
    `cannot tell the Consul version of image ${image}: no version label, CONSUL_VERSION env or version tag`,
    {
      hint: 'use a versioned tag (e.g. hashicorp/consul:1.20) or an image built by cluster-lab (`buildLocalConsulImage`)',
      errorClass: 'dependency',
    },
  );
}

/** Docker's multiplexed log stream (8-byte frame headers) → text. TTY containers are raw. */
export function demux(buf: Buffer | string, tty: boolean): string {
  if (typeof buf === 'string') return buf;
  if (tty) return buf.toString('utf8');
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
