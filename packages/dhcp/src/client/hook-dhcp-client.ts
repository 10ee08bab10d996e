import { mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ClusterConfig,
  ClusterLabError,
  CommandError,
  type CommandRunner,
  type EventSink,
  type Network,
  writeFileAtomic,
} from '@cluster-lab/core';
import { LeaseRefusedError, NoDhcpServerError } from '../dhcp-errors.js';
import { type HookEvent, readHookEvents, writeHookScript } from '../hook-script.js';
import { readOwnPid, stopOwnDaemon } from '../process/own-pid.js';
import { programNotFound } from '../program-not-found.js';
import { assertServableLinks } from '../servable-links.js';
import { type ClientPaths, clientPaths } from '../state-paths.js';
import type { AppliedLease, DhcpClient, DhcpClientKind, DhcpClientOptions, ObtainOptions, RenewalHandle } from './dhcp-client.js';
import { type Lease, type LeaseFields, leaseFromJson, leaseToJson, toLease } from './lease.js';
import { addLeaseRefusal, type LeaseRefusals, readLeaseRefusals, recordLeaseRefusal } from './lease-refusals.js';
import { type LeasePolicy, type LeaseVerdict, leasePolicy, validateLease } from './validate-lease.js';

/** Extra time past the client's own timeout before we kill it. */
export const OBTAIN_GRACE_MS = 3000;

/** How long `release` waits for a client to send its RELEASE and exit. */
export const RELEASE_TIMEOUT_MS = 5000;

/**
 * Pause before asking again after refusing a lease. A rogue server answers as fast as the
 * leader, so the next DISCOVER has an even chance of reaching the leader's offer first; the
 * pause only keeps a flood of rogue offers from spinning the client.
 */
export const REFUSED_LEASE_RETRY_MS = 100;

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
  /** What a lease must satisfy to be applied (`validateLease`): the leader's server ids, the subnet's prefix, the range. */
  readonly policy: LeasePolicy;
  /** Refusal messages already logged (each once). */
  private readonly warned = new Set<string>();
  protected readonly events: EventSink | undefined;

  constructor(options: DhcpClientOptions) {
    assertServableLinks(options.link);
    this.link = options.link;
    this.runner = options.runner;
    this.network = options.network;
    this.config = options.config;
    this.paths = clientPaths(options.config.stateDir, options.link);
    this.hostname = options.hostname ?? options.config.hostname;
    this.policy = leasePolicy(options.config, options.allowedServerIds ?? []);
    this.events = options.events;
  }

  /** Command that obtains one lease in the foreground and exits (or daemonizes) within `timeoutSeconds`. */
  protected abstract obtainCommand(timeoutSeconds: number): { file: string; args: string[] };
  /** Lease fields of a lease-granting event, or undefined for other events. */
  abstract leaseFields(event: HookEvent): LeaseFields | undefined;
  /**
   * Writes adapter config files before each obtain attempt (dhclient.conf, dhcpcd.conf).
   * `refusedServers` lists the server ids whose leases were refused so far, for clients that can
   * ignore a server (dhclient `reject`, dhcpcd `blacklist`).
   */
  protected async prepare(_timeoutSeconds: number, _refusedServers: readonly string[]): Promise<void> {}
  /**
   * After a refused lease: stop whatever process still holds it (dhclient and dhcpcd keep running
   * after binding). Default: stop the renewal process.
   */
  protected async discardRefused(): Promise<void> {
    await this.stopRenewal();
  }
  protected abstract renewal(applied: AppliedLease): Promise<RenewalHandle>;
  /** Sends a DHCP release and stops any renewal process. Best effort. */
  protected abstract sendRelease(applied: AppliedLease | undefined): Promise<void>;

  /**
   * Obtains a lease and applies its address — only a lease `validateLease` accepts: from the
   * leader (its address or `allowedServerIds`), with the subnet's prefix, in the range or this
   * MAC's static lease. A refused lease is not applied; it is logged (a `warn` event), counted in
   * the refusals file (`health` reports it) and the client asks again until the timeout, then
   * throws {@link LeaseRefusedError}.
   */
  async obtain(options: ObtainOptions = {}): Promise<Lease> {
    const timeoutSeconds = Math.max(1, Math.ceil((options.timeoutMs ?? this.config.dhcp.timeoutSeconds * 1000) / 1000));
    const link = await this.network.requireLink(this.link);
    const held = await this.heldLease();
    if (held) return held;
    await mkdir(this.paths.dir, { recursive: true });
    await writeHookScript(this.paths.hookScript);
    const deadline = Date.now() + timeoutSeconds * 1000;
    const refused: string[] = [];
    let lastRefusal: string | undefined;
    for (;;) {
      const remaining = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
      await rm(this.paths.eventsFile, { force: true });
      await this.prepare(remaining, [...new Set(refused.filter(Boolean))]);
      const failure = await this.runClient(remaining, options.signal);
      const events = await readHookEvents(this.paths.eventsFile);
      const granted = lastLeaseEvent(events, (e) => this.leaseFields(e));
      if (!granted) {
        if (lastRefusal !== undefined) throw this.refusedError(timeoutSeconds, refused, lastRefusal);
        throw new NoDhcpServerError(this.link, timeoutSeconds, failure);
      }
      const lease = toLease(granted.fields, link.mac, granted.event.at, this.kind);
      const verdict = validateLease(lease, this.policy);
      if (verdict.ok) return this.apply(lease);
      await this.refuse(lease, verdict);
      await this.discardRefused();
      refused.push(lease.serverId);
      lastRefusal = verdict.message;
      if (Date.now() + REFUSED_LEASE_RETRY_MS >= deadline || options.signal?.aborted) {
        throw this.refusedError(timeoutSeconds, refused, lastRefusal);
      }
      await sleep(REFUSED_LEASE_RETRY_MS);
    }
  }

  /** Adds the address of an accepted lease to the link (replacing an earlier one of ours) and records it. */
  private async apply(lease: Lease): Promise<Lease> {
    const cidr = `${lease.ip}/${lease.prefix}`;
    const previous = await this.current();
    if (previous?.added && previous.cidr !== cidr) await this.network.delAddress(this.link, previous.cidr);
    const added = (await this.network.addAddress(this.link, cidr)) || (previous?.added === true && previous.cidr === cidr);
    const applied: AppliedLease = { kind: this.kind, link: this.link, lease, cidr, added };
    await writeFileAtomic(this.paths.stateFile, `${JSON.stringify({ ...applied, lease: leaseToJson(lease) }, null, 2)}\n`, 0o644);
    return lease;
  }

  /** Logs and counts a refused lease (`health` reports the counts). */
  protected async refuse(lease: Lease, verdict: Extract<LeaseVerdict, { ok: false }>): Promise<void> {
    await mkdir(this.paths.dir, { recursive: true });
    await recordLeaseRefusal(this.paths.refusalsFile, lease, verdict.reason, verdict.message);
    // Said once per offer (the same server offering the same lease is asked again every second; the count keeps them all).
    if (this.warned.has(verdict.message)) return;
    this.warned.add(verdict.message);
    this.events?.({ type: 'log', level: 'warn', message: `${verdict.message} (not applied)`, source: 'dhcp' });
  }

  private refusedError(timeoutSeconds: number, servers: readonly string[], lastMessage: string): LeaseRefusedError {
    return new LeaseRefusedError(this.link, timeoutSeconds, [...new Set(servers)], lastMessage, this.policy.serverAddresses);
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

  /** The latest lease the renewal reported that {@link policy} accepts; a rogue server's lease never counts as renewed. */
  async renewed(): Promise<Lease | undefined> {
    const applied = await this.current();
    const policy = this.readPolicy(applied);
    const leases = await this.reportedLeases(applied);
    return leases.filter((l) => validateLease(l, policy).ok).at(-1);
  }

  /**
   * Every lease refused on this link: those `obtain` and the renewal refused (the refusals file),
   * plus rogue leases a running client has reported since (a rebind answered by another server),
   * which nothing applies either.
   */
  async refusals(): Promise<LeaseRefusals> {
    const applied = await this.current();
    const policy = this.readPolicy(applied);
    let counters = await readLeaseRefusals(this.paths.refusalsFile);
    for (const lease of await this.reportedLeases(applied)) {
      const verdict = validateLease(lease, policy);
      if (!verdict.ok) counters = addLeaseRefusal(counters, lease, verdict.reason, verdict.message, lease.reportedAt);
    }
    return counters;
  }

  /** The policy for reading back: the applied lease's server passed it when it was applied. */
  private readPolicy(applied: AppliedLease | undefined): LeasePolicy {
    if (!applied?.lease.serverId || this.policy.serverAddresses.includes(applied.lease.serverId)) return this.policy;
    return { ...this.policy, serverAddresses: [...this.policy.serverAddresses, applied.lease.serverId] };
  }

  /** Leases the hooks reported (obtain and renewal), oldest first. */
  private async reportedLeases(applied: AppliedLease | undefined): Promise<Array<Lease & { reportedAt: Date }>> {
    // dhclient/dhcpcd renew in the process that obtained (obtain hook); udhcpc in its own (renewal hook).
    const events = (await Promise.all([this.paths.eventsFile, this.paths.renewalEventsFile].map((f) => readHookEvents(f))))
      .flat()
      .sort((a, b) => a.at.getTime() - b.at.getTime());
    const leases: Array<Lease & { reportedAt: Date }> = [];
    for (const event of events) {
      const fields = this.leaseFields(event);
      if (!fields) continue;
      try {
        leases.push({ ...toLease(fields, applied?.lease.mac ?? '', event.at, this.kind), reportedAt: event.at });
      } catch {
        // A malformed report is not a lease.
      }
    }
    return leases;
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
