import { join } from 'node:path';

/** Files of our own dnsmasq instance, all inside `<stateDir>/dhcp/`. */
export interface DnsmasqPaths {
  dir: string;
  /** Rendered main config (`--conf-file`). */
  confFile: string;
  /** Static reservations (`dhcp-hostsfile`, re-read on SIGHUP). */
  hostsFile: string;
  /** dnsmasq's lease database; kept across restarts so addresses stay stable. */
  leaseFile: string;
  pidFile: string;
  logFile: string;
}

/** Where the DHCP server keeps its files under the cluster state dir. */
export function dnsmasqPaths(stateDir: string): DnsmasqPaths {
  const dir = join(stateDir, 'dhcp');
  return {
    dir,
    confFile: join(dir, 'dnsmasq.conf'),
    hostsFile: join(dir, 'dnsmasq.hosts'),
    leaseFile: join(dir, 'dnsmasq.leases'),
    pidFile: join(dir, 'dnsmasq.pid'),
    logFile: join(dir, 'dnsmasq.log'),
  };
}

/** Files of the DHCP client on one link, inside `<stateDir>/dhcp/client-<link>/`. */
export interface ClientPaths {
  dir: string;
  /** The static hook script every client adapter calls. */
  hookScript: string;
  /** JSON lines written by that hook (beside it). */
  eventsFile: string;
  /** The hook copy used by a separate renewal process (udhcpc), in `renewal/`. */
  renewalHookScript: string;
  /** JSON lines written by the renewal hook. */
  renewalEventsFile: string;
  renewalPidFile: string;
  renewalLogFile: string;
  /** What `obtain` applied (lease + address), so `release` works from another process. */
  stateFile: string;
  /** Counters of the leases refused on this link (rogue servers), read by `health`. */
  refusalsFile: string;
  /** Client-specific extra files (dhclient lease db/config, dhcpcd config). */
  extra(name: string): string;
}

/** Where the client for `link` keeps its files. */
export function clientPaths(stateDir: string, link: string): ClientPaths {
  const dir = join(stateDir, 'dhcp', `client-${link}`);
  return {
    dir,
    hookScript: join(dir, 'hook.sh'),
    eventsFile: join(dir, 'events.jsonl'),
    renewalHookScript: join(dir, 'renewal', 'hook.sh'),
    renewalEventsFile: join(dir, 'renewal', 'events.jsonl'),
    renewalPidFile: join(dir, 'renewal.pid'),
    renewalLogFile: join(dir, 'renewal.log'),
    stateFile: join(dir, 'state.json'),
    refusalsFile: join(dir, 'refused-leases.json'),
    extra: (name) => join(dir, name),
  };
}
