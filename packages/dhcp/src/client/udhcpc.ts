import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon } from '@cluster-lab/core';
import { LeaseRefusedError } from '../dhcp-errors.js';
import { type HookEvent, readHookEvents, writeHookScript } from '../hook-script.js';
import type { AppliedLease, DhcpClientOptions, RenewalHandle } from './dhcp-client.js';
import { HookDhcpClient, REFUSED_LEASE_RETRY_MS } from './hook-dhcp-client.js';
import { type LeaseFields, toLease } from './lease.js';
import { validateLease } from './validate-lease.js';

/**
 * Seconds between DISCOVERs (`-T`). busybox's default is 3 (with `-t 3`, and `-A 20` before a
 * retry round), which makes a follower that boots just before the leader wait up to 20 s. On the
 * cluster link a server answers in milliseconds, so one DISCOVER per second until the timeout
 * costs nothing and catches the leader within a second of it starting to serve.
 */
export const UDHCPC_DISCOVER_INTERVAL_SECONDS = 1;

/** Pause before the renewal client starts a new round after failing to get a lease (`-A`, busybox default 20). */
export const UDHCPC_RETRY_PAUSE_SECONDS = 5;

/** DISCOVERs per round of the renewal client (`-t`, busybox default 3). */
export const UDHCPC_RENEWAL_DISCOVERS = 3;

/** udhcpc events that carry a lease. */
const LEASE_EVENTS = new Set(['bound', 'renew']);

/** Options of {@link UdhcpcClient}: the adapter options plus how to call udhcpc. */
export interface UdhcpcClientOptions extends DhcpClientOptions {
  /**
   * Arguments before udhcpc's own, e.g. `['udhcpc']` when `executable` is busybox itself.
   * Default none.
   */
  argsPrefix?: string[];
}

/**
 * busybox `udhcpc` adapter (the default client). Every lease event goes to our static hook
 * (`-s`), which only reports; udhcpc itself never touches the interface.
 *
 * - obtain: `udhcpc -f -q -n -i <link> -s <hook> -t <timeout s> -T 1 [-x hostname:<name>]`
 * - renewal: a detached `udhcpc -f -R -i <link> -s <hook> -r <ip> -t 3 -T 1 -A 5` (pid file in
 *   the state dir); it re-requests the same address, renews at T1, and on SIGTERM releases (`-R`).
 */
export class UdhcpcClient extends HookDhcpClient {
  readonly kind = 'udhcpc' as const;
  private readonly file: string;
  private readonly argsPrefix: string[];

  constructor(options: UdhcpcClientOptions) {
    super(options);
    this.file = options.executable ?? 'udhcpc';
    this.argsPrefix = options.argsPrefix ?? [];
  }

  private common(hook: string = this.paths.hookScript): string[] {
    return ['-i', this.link, '-s', hook, ...(this.hostname ? ['-x', `hostname:${this.hostname}`] : [])];
  }

  protected obtainCommand(timeoutSeconds: number): { file: string; args: string[] } {
    const discovers = Math.max(1, Math.ceil(timeoutSeconds / UDHCPC_DISCOVER_INTERVAL_SECONDS));
    return {
      file: this.file,
      args: [
        ...this.argsPrefix,
        '-f',
        '-q',
        '-n',
        ...this.common(),
        '-t',
        String(discovers),
        '-T',
        String(UDHCPC_DISCOVER_INTERVAL_SECONDS),
      ],
    };
  }

  /** udhcpc variables: `ip`, `mask` (prefix length), `subnet`, `serverid`, `lease`, `hostname`, `router`, `dns`. */
  leaseFields(event: HookEvent): LeaseFields | undefined {
    if (!LEASE_EVENTS.has(event.event)) return undefined;
    const e = event.env;
    return {
      ip: e.ip,
      mask: e.mask ?? e.subnet,
      serverId: e.serverid,
      leaseSeconds: e.lease,
      hostname: e.hostname,
      routers: e.router,
      dns: e.dns,
    };
  }

  /** The renewal daemon's command line for `ip`. */
  renewalCommand(ip: string): { file: string; args: string[] } {
    return {
      file: this.file,
      args: [
        ...this.argsPrefix,
        '-f',
        '-R',
        ...this.common(this.paths.renewalHookScript),
        '-r',
        ip,
        '-t',
        String(UDHCPC_RENEWAL_DISCOVERS),
        '-T',
        String(UDHCPC_DISCOVER_INTERVAL_SECONDS),
        '-A',
        String(UDHCPC_RETRY_PAUSE_SECONDS),
      ],
    };
  }

  protected renewalMarker(): string {
    return this.paths.renewalHookScript;
  }

  /**
   * Starts the renewal udhcpc (or finds it running). It begins with a DISCOVER, so a rogue server
   * may answer first: its lease is refused (logged, counted) and the renewal client started again,
   * until one bound to the leader's lease or the timeout (`LeaseRefusedError`).
   */
  protected async renewal(applied: AppliedLease): Promise<RenewalHandle> {
    const deadline = Date.now() + this.config.dhcp.timeoutSeconds * 1000;
    const refused: string[] = [];
    for (;;) {
      const handle = await this.startRenewalDaemon(applied, Math.max(1000, deadline - Date.now()));
      if (!handle.started) return handle;
      const first = (await readHookEvents(this.paths.renewalEventsFile)).map((e) => this.leaseFields(e)).find((f) => f !== undefined);
      if (!first) return handle;
      const lease = toLease(first, applied.lease.mac, new Date(), this.kind);
      const verdict = validateLease(lease, this.policy);
      if (verdict.ok) return handle;
      await this.refuse(lease, verdict);
      refused.push(lease.serverId);
      await this.stopRenewal('SIGTERM');
      if (Date.now() + REFUSED_LEASE_RETRY_MS >= deadline) {
        throw new LeaseRefusedError(
          this.link,
          this.config.dhcp.timeoutSeconds,
          [...new Set(refused)],
          verdict.message,
          this.policy.serverAddresses,
        );
      }
      await sleep(REFUSED_LEASE_RETRY_MS);
    }
  }

  private async startRenewalDaemon(applied: AppliedLease, readyTimeoutMs: number): Promise<RenewalHandle> {
    const { file, args } = this.renewalCommand(applied.lease.ip);
    const pidFile = this.paths.renewalPidFile;
    const eventsFile = this.paths.renewalEventsFile;
    const started = Date.now();
    // A fresh events file per start, so "ready" means this process got its lease.
    const running = await this.renewalPid();
    if (running === undefined) {
      await writeHookScript(this.paths.renewalHookScript);
      await rm(eventsFile, { force: true });
    }
    const handle = await startDaemon(this.runner, {
      name: 'udhcpc (renewal)',
      file,
      args,
      pidFile,
      logFile: this.paths.renewalLogFile,
      logName: 'dhcp-client',
      readyTimeoutMs,
      pollMs: 50,
      ready: async () => (await readHookEvents(eventsFile)).some((e) => this.leaseFields(e) && e.at.getTime() >= started - 1000),
    });
    return { pid: handle.pid, pidFile, started: handle.started };
  }

  /** udhcpc `-q` exits after binding: nothing holds a refused lease. */
  protected override async discardRefused(): Promise<void> {}

  protected async sendRelease(_applied: AppliedLease | undefined): Promise<void> {
    // SIGTERM makes the renewal udhcpc (started with -R) send a RELEASE before exiting. Without a
    // renewal process there is no client holding the lease to release: it expires on the server,
    // and the same MAC gets the same address back on the next boot.
    await this.stopRenewal('SIGTERM');
  }
}
