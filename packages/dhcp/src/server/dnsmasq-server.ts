import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ClusterConfig,
  ClusterLabError,
  type CommandRunner,
  cidrContains,
  findExecutable,
  IpRoute2,
  leaderCidr,
  type Network,
  startDaemon,
} from '@cluster-lab/core';
import { DhcpErrorCode, RogueDhcpServerError } from '../dhcp-errors.js';
import { readOwnPid, stopOwnDaemon } from '../process/own-pid.js';
import { programNotFound } from '../program-not-found.js';
import { assertServableLinks } from '../servable-links.js';
import { type DnsmasqPaths, dnsmasqPaths } from '../state-paths.js';
import { type RenderedDnsmasqConfig, type Reservation, renderDnsmasqConfig } from './dnsmasq-config.js';
import { parseLeaseFile, type ServerLease } from './lease-file.js';
import { probeForDhcpServer } from './rogue-probe.js';

/** How long dnsmasq may take to bind its DHCP socket and log its range (it takes ~10 ms). */
export const DNSMASQ_READY_TIMEOUT_MS = 5000;

/** The line dnsmasq logs once its DHCP socket is bound and the range is active. */
const READY_MARKER = 'DHCP, IP range';

/** Options of {@link dnsmasqServer}. */
export interface DnsmasqServerOptions {
  /** Runs dnsmasq (in the lab: the leader node's runner). */
  runner: CommandRunner;
  config: ClusterConfig;
  /** The cluster link to serve (only this one). */
  link: string;
  /** The uplink; excluded explicitly. */
  uplink?: string;
  /** Checks the link's addresses. Default: `new IpRoute2(runner)` (acts where the runner runs). */
  network?: Network;
  /** dnsmasq executable; default: found in PATH (sbin included). */
  executable?: string;
  /** DNS port; default 0 = DNS off. */
  dnsPort?: number;
  /**
   * Probe the link for a foreign DHCP server before serving (default true). Pass false only
   * when you already probed, or `{ timeoutMs, executable }` to tune it.
   */
  probe?: boolean | { timeoutMs?: number; executable?: string };
  /**
   * Reservations beside `dhcp.staticLeases` (the leader's own node address, those restored from
   * the replicated lease table); written to the hosts file, so a change applies with a SIGHUP.
   */
  reservations?: readonly Reservation[];
}

/** What {@link DhcpServerHandle.reload} did. */
export type ReloadOutcome = 'unchanged' | 'hosts-reloaded' | 'restarted';

/**
 * A running dnsmasq serving the cluster link. Also `AsyncDisposable`: `await using server = …`
 * stops it at the end of the scope.
 */
export interface DhcpServerHandle extends AsyncDisposable {
  readonly pid: number;
  /** False when a dnsmasq with the same config was already running (idempotent start). */
  readonly started: boolean;
  readonly pidFile: string;
  readonly confFile: string;
  readonly leaseFile: string;
  readonly logFile: string;
  /** Current leases from dnsmasq's lease file. */
  leases(): Promise<ServerLease[]>;
  /**
   * Applies a changed config. Static leases live in a hosts file that dnsmasq re-reads on
   * SIGHUP, so a change there is applied without interruption (`hosts-reloaded`). Anything else
   * (range, lease time, options) is only read at start-up — SIGHUP does not re-read the main
   * config — so dnsmasq is restarted (`restarted`, leases kept: the lease file stays).
   */
  reload(config: ClusterConfig): Promise<ReloadOutcome>;
  /** Stops dnsmasq (SIGTERM, then SIGKILL). The lease file is kept. Safe twice. */
  stop(): Promise<void>;
}

/**
 * The leader's DHCP server: our own dnsmasq instance (never the system's: own `--conf-file`,
 * pid, lease and log files under `<stateDir>/dhcp/`), run detached with `--keep-in-foreground`
 * under a pid file, so it outlives `cluster-lab start` and `stop` finds it from another process.
 *
 * @example
 * ```ts
 * await using server = await dnsmasqServer({ runner, config, link: 'eth0.200', uplink: 'eth0' }).start();
 * console.log(await server.leases());
 * ```
 */
export class DnsmasqServer {
  readonly paths: DnsmasqPaths;
  private config: ClusterConfig;

  constructor(private readonly options: DnsmasqServerOptions) {
    assertServableLinks(options.link, options.uplink);
    this.config = options.config;
    this.paths = dnsmasqPaths(options.config.stateDir);
  }

  /** Renders the config this server would run with (pure). */
  render(config: ClusterConfig = this.config): RenderedDnsmasqConfig {
    return renderDnsmasqConfig({
      config,
      link: this.options.link,
      paths: this.paths,
      ...(this.options.uplink !== undefined ? { uplink: this.options.uplink } : {}),
      ...(this.options.dnsPort !== undefined ? { dnsPort: this.options.dnsPort } : {}),
      ...(this.options.reservations ? { reservations: this.options.reservations } : {}),
    });
  }

  /**
   * Starts serving: checks the link holds an address in the cluster subnet, probes for a
   * foreign DHCP server (refusing with `DHCP_ROGUE_SERVER` naming it), writes the config and
   * starts dnsmasq, waiting until it serves the range. Idempotent: a running instance with the
   * same config is returned as is (a changed one is reloaded).
   */
  async start(): Promise<DhcpServerHandle> {
    const rendered = this.render();
    const running = await this.pid();
    if (running !== undefined) {
      const outcome = await this.apply(rendered, running);
      if (outcome !== 'restarted') return this.handle(running, false);
      const pid = await this.pid();
      if (pid !== undefined) return this.handle(pid, true);
    }
    await this.checkLink();
    const probe = this.options.probe ?? true;
    if (probe !== false) {
      const answer = await probeForDhcpServer({
        runner: this.options.runner,
        link: this.options.link,
        workDir: this.paths.dir,
        ...(typeof probe === 'object' && probe.timeoutMs !== undefined ? { timeoutMs: probe.timeoutMs } : {}),
        ...(typeof probe === 'object' && probe.executable !== undefined ? { executable: probe.executable } : {}),
      });
      if (answer) throw new RogueDhcpServerError(this.options.link, answer.serverId);
    }
    const pid = await this.launch(rendered);
    return this.handle(pid, true);
  }

  /**
   * Stops our dnsmasq (if running) and removes the files `start` wrote (config, hosts file, probe
   * scratch). The lease file is kept, so addresses stay stable across restarts, and so is the
   * log (rotated at each start), for post-mortems. Returns false when none was running.
   */
  async stop(): Promise<boolean> {
    const stopped = await stopOwnDaemon(this.paths.pidFile, this.paths.confFile, { timeoutMs: 5000 });
    for (const file of [this.paths.confFile, this.paths.hostsFile, this.paths.pidFile]) await rm(file, { force: true });
    await rm(join(this.paths.dir, 'probe'), { recursive: true, force: true });
    return stopped;
  }

  /** Leases in dnsmasq's lease file (empty when none yet). */
  async leases(): Promise<ServerLease[]> {
    try {
      return parseLeaseFile(await readFile(this.paths.leaseFile, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** The pid of our running dnsmasq (checked against its command line), or undefined. */
  async pid(): Promise<number | undefined> {
    return readOwnPid(this.paths.pidFile, this.paths.confFile);
  }

  private async checkLink(): Promise<void> {
    const network = this.options.network ?? new IpRoute2(this.options.runner);
    await network.requireLink(this.options.link);
    const addresses = await network.listAddresses(this.options.link);
    const inSubnet = addresses.some((a) => a.family === 'inet' && cidrContains(this.config.subnet, a.local));
    if (!inSubnet) {
      const held = addresses.filter((a) => a.family === 'inet').map((a) => a.cidr);
      throw new ClusterLabError(
        DhcpErrorCode.linkNotInSubnet,
        `${this.options.link} holds no address in the cluster subnet ${this.config.subnet} (has: ${held.join(', ') || 'none'}); dnsmasq could not serve the range`,
        {
          hint: `add the leader address first, e.g. ${leaderCidr(this.config)} on ${this.options.link}`,
        },
      );
    }
  }

  private async launch(rendered: RenderedDnsmasqConfig): Promise<number> {
    const executable = this.options.executable ?? (await findExecutable('dnsmasq'));
    if (!executable) throw programNotFound('dnsmasq');
    // dnsmasq keeps root (`user=root` in the config): the files need no access for others.
    await mkdir(this.paths.dir, { recursive: true });
    await writeFile(this.paths.confFile, rendered.conf, { mode: 0o644 });
    await writeFile(this.paths.hostsFile, rendered.hosts, { mode: 0o644 });
    const handle = await startDaemon(this.options.runner, {
      name: 'dnsmasq',
      file: executable,
      args: [`--conf-file=${this.paths.confFile}`, '--keep-in-foreground'],
      pidFile: this.paths.pidFile,
      logFile: this.paths.logFile,
      logName: 'dnsmasq',
      readyTimeoutMs: DNSMASQ_READY_TIMEOUT_MS,
      pollMs: 10,
      ready: async (output) => (await output()).includes(READY_MARKER),
    });
    return handle.pid;
  }

  /** Brings a running instance in line with `rendered`. */
  private async apply(rendered: RenderedDnsmasqConfig, pid: number): Promise<ReloadOutcome> {
    const [conf, hosts] = await Promise.all([readText(this.paths.confFile), readText(this.paths.hostsFile)]);
    if (conf !== rendered.conf) {
      await this.stop();
      await this.launch(rendered);
      return 'restarted';
    }
    if (hosts !== rendered.hosts) {
      await writeFile(this.paths.hostsFile, rendered.hosts, { mode: 0o644 });
      process.kill(pid, 'SIGHUP');
      return 'hosts-reloaded';
    }
    return 'unchanged';
  }

  private handle(pid: number, started: boolean): DhcpServerHandle {
    let current = pid;
    const { paths } = this;
    return {
      get pid() {
        return current;
      },
      started,
      pidFile: paths.pidFile,
      confFile: paths.confFile,
      leaseFile: paths.leaseFile,
      logFile: paths.logFile,
      leases: () => this.leases(),
      reload: async (config) => {
        const rendered = this.render(config);
        this.config = config;
        const running = await this.pid();
        if (running === undefined) {
          await this.checkLink();
          current = await this.launch(rendered);
          return 'restarted';
        }
        const outcome = await this.apply(rendered, running);
        current = (await this.pid()) ?? current;
        return outcome;
      },
      stop: async () => {
        await this.stop();
      },
      [Symbol.asyncDispose]: async () => {
        await this.stop();
      },
    };
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Creates the leader's DHCP server role for `link`. Call `.start()` to serve.
 *
 * @example
 * ```ts
 * const server = await dnsmasqServer({ runner: leader.runner, config, link: 'eth1', uplink: 'eth0' }).start();
 * await server.stop();
 * ```
 */
export function dnsmasqServer(options: DnsmasqServerOptions): DnsmasqServer {
  return new DnsmasqServer(options);
}
