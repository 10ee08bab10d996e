import { mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type ClusterConfig,
  ClusterLabError,
  CommandError,
  type CommandRunner,
  cidrContains,
  type Network,
  writeFileAtomic,
} from '@cluster-lab/core';
import { DhcpErrorCode, NoDhcpServerError } from '../dhcp-errors.js';
import { type HookEvent, readHookEvents, writeHookScript } from '../hook-script.js';
import { readOwnPid, stopOwnDaemon } from '../process/own-pid.js';
import { programNotFound } from '../program-not-found.js';
import { assertServableLinks } from '../servable-links.js';
import { type ClientPaths, clientPaths } from '../state-paths.js';
import type { AppliedLease, DhcpClient, DhcpClientKind, DhcpClientOptions, ObtainOptions, RenewalHandle } from './dhcp-client.js';
import { type Lease, type LeaseFields, leaseFromJson, leaseToJson, toLease } from './lease.js';

/** Extra time past the client's own timeout before we kill it. */
export const OBTAIN_GRACE_MS = 3000;

/** How long `release` waits for a client to send its RELEASE and exit. */
export const RELEASE_TIMEOUT_MS = 5000;

/**
 * Common flow of every adapter: write the static hook, run the client, read the hook's events,
 * type the lease, apply the address, persist what was applied. Adapters supply command lines and
 * map their variables to {@link LeaseFields}.
 */
export abstract class HookDhcpClient implements DhcpClient {
  abstract readonly kind: DhcpClientKind;
  readonly link: string;
  protected readonly runner: CommandRunner;
  protected readonly network: Network;
  protected readonly config: ClusterConfig;
  protected readonly paths: ClientPaths;
  protected readonly hostname: string | undefined;

  constructor(options: DhcpClientOptions) {
    assertServableLinks(options.link);
    this.link = options.link;
    this.runner = options.runner;
    this.network = options.network;
    this.config = options.config;
    this.paths = clientPaths(options.config.stateDir, options.link);
    this.hostname = options.hostname ?? options.config.hostname;
  }

  /** Command that obtains one lease in the foreground and exits (or daemonizes) within `timeoutSeconds`. */
  protected abstract obtainCommand(timeoutSeconds: number): { file: string; args: string[] };
  /** Lease fields of a lease-granting event, or undefined for other events. */
  abstract leaseFields(event: HookEvent): LeaseFields | undefined;
  /** Writes adapter config files before obtain (dhclient.conf, dhcpcd.conf). */
  protected async prepare(_timeoutSeconds: number): Promise<void> {}
  protected abstract renewal(applied: AppliedLease): Promise<RenewalHandle>;
  /** Sends a DHCP release and stops any renewal process. Best effort. */
  protected abstract sendRelease(applied: AppliedLease | undefined): Promise<void>;

  async obtain(options: ObtainOptions = {}): Promise<Lease> {
    const timeoutSeconds = Math.max(1, Math.ceil((options.timeoutMs ?? this.config.dhcp.timeoutSeconds * 1000) / 1000));
    const link = await this.network.requireLink(this.link);
    const held = await this.heldLease();
    if (held) return held;
    await mkdir(this.paths.dir, { recursive: true });
    await writeHookScript(this.paths.hookScript);
    await rm(this.paths.eventsFile, { force: true });
    await this.prepare(timeoutSeconds);
    const failure = await this.runClient(timeoutSeconds, options.signal);
    const events = await readHookEvents(this.paths.eventsFile);
    const granted = lastLeaseEvent(events, (e) => this.leaseFields(e));
    if (!granted) throw new NoDhcpServerError(this.link, timeoutSeconds, failure);
    const lease = toLease(granted.fields, link.mac, granted.event.at, this.kind);
    if (!cidrContains(this.config.subnet, lease.ip)) {
      await this.sendRelease({ kind: this.kind, link: this.link, lease, cidr: '', added: false }).catch(() => {});
      throw new ClusterLabError(
        DhcpErrorCode.leaseOutsideSubnet,
        `DHCP server ${lease.serverId || '(unknown)'} offered ${lease.ip} on ${this.link}, outside the cluster subnet ${this.config.subnet}`,
        { hint: `a foreign DHCP server answers on ${this.link}: is it really the isolated cluster link? (the address was not applied)` },
      );
    }
    const cidr = `${lease.ip}/${lease.prefix}`;
    const previous = await this.current();
    if (previous?.added && previous.cidr !== cidr) await this.network.delAddress(this.link, previous.cidr);
    const added = (await this.network.addAddress(this.link, cidr)) || (previous?.added === true && previous.cidr === cidr);
    const applied: AppliedLease = { kind: this.kind, link: this.link, lease, cidr, added };
    await writeFileAtomic(this.paths.stateFile, `${JSON.stringify({ ...applied, lease: leaseToJson(lease) }, null, 2)}\n`, 0o644);
    return lease;
  }

  /**
   * The lease to keep when `obtain` runs again (`cluster-lab start` re-run): a renewal process of
   * ours still runs and the applied address is still on the link. Running a second client beside
   * it would only fight over the lease.
   */
  private async heldLease(): Promise<Lease | undefined> {
    const applied = await this.current();
    if (!applied || (await this.renewalPid()) === undefined) return undefined;
    const onLink = (await this.network.listAddresses(this.link)).some((a) => a.cidr === applied.cidr);
    if (!onLink) return undefined;
    const renewed = await this.renewed();
    return renewed && renewed.ip === applied.lease.ip ? renewed : applied.lease;
  }

  /**
   * Runs the obtain command in the foreground with a timeout. Returns the failure (if any) for
   * the "no server" error's cause; the verdict comes from the hook's events.
   */
  protected async runClient(timeoutSeconds: number, signal: AbortSignal | undefined): Promise<unknown> {
    const { file, args } = this.obtainCommand(timeoutSeconds);
    try {
      await this.runner.run(file, args, { timeoutMs: timeoutSeconds * 1000 + OBTAIN_GRACE_MS, ...(signal ? { signal } : {}) });
      return undefined;
    } catch (error) {
      if (error instanceof CommandError && error.notFound) throw programNotFound(this.kind, file);
      if (error instanceof CommandError && error.isCanceled) throw error;
      return error;
    }
  }

  /** The latest lease event in `files`, across obtain and renewal hooks. */
  protected async latestLease(files: string[]): Promise<{ event: HookEvent; fields: LeaseFields } | undefined> {
    const events = (await Promise.all(files.map((f) => readHookEvents(f)))).flat().sort((a, b) => a.at.getTime() - b.at.getTime());
    return lastLeaseEvent(events, (e) => this.leaseFields(e));
  }

  async startRenewal(): Promise<RenewalHandle> {
    const applied = await this.current();
    if (!applied) {
      throw new ClusterLabError('DHCP_NO_LEASE', `no lease on ${this.link} to renew`, { hint: 'call obtain() first' });
    }
    return this.renewal(applied);
  }

  async current(): Promise<AppliedLease | undefined> {
    let text: string;
    try {
      text = await readFile(this.paths.stateFile, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const raw = JSON.parse(text) as AppliedLease & { lease: Record<string, unknown> };
      return { ...raw, lease: leaseFromJson(raw.lease) };
    } catch {
      // Written atomically, so only a hand-edited file gets here: treat it as no lease.
      return undefined;
    }
  }

  async renewalPid(): Promise<number | undefined> {
    return readOwnPid(this.paths.renewalPidFile, this.renewalMarker());
  }

  /** A string only our renewal process has on its command line (guards against reused pids). */
  protected abstract renewalMarker(): string;

  /** Stops our renewal process (if it is ours and running). */
  protected stopRenewal(signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
    return stopOwnDaemon(this.paths.renewalPidFile, this.renewalMarker(), { timeoutMs: RELEASE_TIMEOUT_MS, signal });
  }

  async renewed(): Promise<Lease | undefined> {
    const applied = await this.current();
    // dhclient/dhcpcd renew in the process that obtained (obtain hook); udhcpc in its own (renewal hook).
    const granted = await this.latestLease([this.paths.eventsFile, this.paths.renewalEventsFile]);
    if (!granted) return undefined;
    return toLease(granted.fields, applied?.lease.mac ?? '', granted.event.at, this.kind);
  }

  async release(): Promise<boolean> {
    const applied = await this.current();
    await this.sendRelease(applied);
    if (applied?.added) await this.network.delAddress(this.link, applied.cidr);
    // Everything of this client lives in its own directory (hook, events, renewal log, state).
    await rm(this.paths.dir, { recursive: true, force: true });
    await rmdir(dirname(this.paths.dir)).catch(() => {});
    return applied !== undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

function lastLeaseEvent(
  events: HookEvent[],
  fieldsOf: (e: HookEvent) => LeaseFields | undefined,
): { event: HookEvent; fields: LeaseFields } | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i] as HookEvent;
    const fields = fieldsOf(event);
    if (fields) return { event, fields };
  }
  return undefined;
}
