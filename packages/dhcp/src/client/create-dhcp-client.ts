import { type ClusterConfig, type CommandRunner, type EventSink, findExecutable, type Network } from '@cluster-lab/core';
import { programNotFound } from '../program-not-found.js';
import { DhclientClient } from './dhclient.js';
import type { DhcpClient, DhcpClientKind } from './dhcp-client.js';
import { DhcpcdClient } from './dhcpcd.js';
import { UdhcpcClient } from './udhcpc.js';

/** Options of {@link createDhcpClient}. */
export interface CreateDhcpClientOptions {
  runner: CommandRunner;
  network: Network;
  config: ClusterConfig;
  /** The cluster link to lease on. */
  link: string;
  /** Force a client; default `config.dhcp.client` (`auto` picks what is installed). */
  kind?: DhcpClientKind | 'auto';
  /** Host name to send; default `config.hostname`. */
  hostname?: string;
  /** Server ids a lease may come from besides the leader address (see `DhcpClientOptions.allowedServerIds`). */
  allowedServerIds?: readonly string[];
  /** Receives a `warn` log event for every refused lease. */
  events?: EventSink;
  /** Looks up executables (default {@link findExecutable}); tests pass a fake. */
  locate?: (name: string) => Promise<string | undefined>;
}

/** Order in which `auto` looks for a client: busybox udhcpc first (small, fast, the default). */
export const DHCP_CLIENT_PREFERENCE: readonly DhcpClientKind[] = ['udhcpc', 'dhclient', 'dhcpcd'];

/**
 * Creates the follower's DHCP client: the one configured (`config.dhcp.client`), or with `auto`
 * the first installed of udhcpc (or busybox's built-in udhcpc), dhclient, dhcpcd. Throws a
 * `dependency` error (`DHCP_PROGRAM_NOT_FOUND`) when the configured/any client is missing.
 *
 * @example
 * ```ts
 * const client = await createDhcpClient({ runner: node.runner, network: node.ip, config, link: 'eth1' });
 * const lease = await client.obtain();
 * await client.startRenewal();
 * // … on stop:
 * await client.release();
 * ```
 */
export async function createDhcpClient(options: CreateDhcpClientOptions): Promise<DhcpClient> {
  const locate = options.locate ?? ((name: string) => findExecutable(name));
  const wanted = options.kind ?? options.config.dhcp.client;
  const kinds = wanted === 'auto' ? DHCP_CLIENT_PREFERENCE : [wanted];
  const base = {
    runner: options.runner,
    network: options.network,
    config: options.config,
    link: options.link,
    ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
    ...(options.allowedServerIds !== undefined ? { allowedServerIds: options.allowedServerIds } : {}),
    ...(options.events !== undefined ? { events: options.events } : {}),
  };
  for (const kind of kinds) {
    if (kind === 'udhcpc') {
      const udhcpc = await locate('udhcpc');
      if (udhcpc) return new UdhcpcClient({ ...base, executable: udhcpc });
      const busybox = await locate('busybox');
      if (busybox) return new UdhcpcClient({ ...base, executable: busybox, argsPrefix: ['udhcpc'] });
      continue;
    }
    const executable = await locate(kind);
    if (!executable) continue;
    return kind === 'dhclient' ? new DhclientClient({ ...base, executable }) : new DhcpcdClient({ ...base, executable });
  }
  if (wanted !== 'auto') throw programNotFound(wanted);
  throw programNotFound('udhcpc', undefined, `no DHCP client is installed (looked for ${DHCP_CLIENT_PREFERENCE.join(', ')}, busybox)`);
}
