import { readFile } from 'node:fs/promises';
import { type Check, type CheckResult, fail, type Network, pass, warn } from '@cluster-lab/core';
import type { DhcpClient } from '../client/dhcp-client.js';
import { describeRefusalReasons } from '../client/lease-refusals.js';
import type { DnsmasqServer } from '../server/dnsmasq-server.js';

/**
 * Health checks of the leader's DHCP server, for `cluster-lab health`: dnsmasq runs under our
 * pid file, serves only the cluster link, and how many leases it holds.
 *
 * @example
 * ```ts
 * const report = await runChecks(dhcpServerChecks(dnsmasqServer({ runner, config, link: 'eth0.200', uplink: 'eth0' })));
 * ```
 */
export function dhcpServerChecks(server: DnsmasqServer): Check[] {
  return [
    {
      id: 'dhcp-server-running',
      title: 'DHCP server (dnsmasq) is running',
      run: async () => {
        const pid = await server.pid();
        return pid === undefined
          ? fail(
              `no dnsmasq runs under ${server.paths.pidFile}`,
              `see ${server.paths.logFile}; \`cluster-lab start\` starts it on the leader`,
            )
          : pass(`dnsmasq pid ${pid}`);
      },
    },
    {
      id: 'dhcp-server-cluster-link-only',
      title: 'DHCP server serves the cluster link only',
      run: async () => {
        const conf = await readFile(server.paths.confFile, 'utf8').catch(() => '');
        const address = /^listen-address=(.+)$/m.exec(conf)?.[1];
        if (!address || !/^bind-interfaces$/m.test(conf) || /^interface=/m.test(conf)) {
          return fail(
            `${server.paths.confFile} does not bind dnsmasq to the leader address alone`,
            'restart with `cluster-lab start` to rewrite it',
          );
        }
        const router = /^dhcp-option=3,(.+)$/m.exec(conf)?.[1];
        return pass(`bound to ${address} (cluster link only)${router ? `, hands out router ${router}` : ', no router option'}`);
      },
    },
    {
      id: 'dhcp-server-leases',
      title: 'DHCP leases',
      run: async () => {
        const leases = await server.leases();
        const now = Date.now();
        const live = leases.filter((l) => l.expiresAt === null || l.expiresAt.getTime() > now);
        return live.length
          ? pass(`${live.length} active lease(s): ${live.map((l) => l.ip).join(', ')}`)
          : warn('no active leases yet', 'followers lease within seconds of booting');
      },
    },
  ];
}

/**
 * Health checks of a follower's DHCP client: the lease is applied on the cluster link, not
 * expired, and the renewal process runs.
 */
export function dhcpClientChecks(client: DhcpClient, network: Network): Check[] {
  return [
    {
      id: 'dhcp-lease-applied',
      title: `cluster address leased on ${client.link}`,
      run: async () => {
        const applied = await client.current();
        if (!applied) return fail(`no lease recorded for ${client.link}`, 'is the leader up and serving DHCP?');
        const held = (await network.listAddresses(client.link)).map((a) => a.cidr);
        if (!held.includes(applied.cidr))
          return fail(`${applied.cidr} is not on ${client.link} (has: ${held.join(', ') || 'none'})`, 'run `cluster-lab start` again');
        const expiry = applied.lease.expiresAt;
        if (expiry && expiry.getTime() < Date.now()) {
          const renewed = await client.renewed();
          if (!renewed || (renewed.expiresAt && renewed.expiresAt.getTime() < Date.now())) {
            return fail(
              `lease of ${applied.lease.ip} expired at ${expiry.toISOString()}`,
              'the renewal client is not renewing: is the leader reachable?',
            );
          }
        }
        const moved = await leaseMovedWarning(client);
        if (moved) return moved;
        const refused = await leaseRefusalWarning(client);
        if (refused) return refused;
        return pass(`${applied.cidr} from ${applied.lease.serverId}`);
      },
    },
    {
      id: 'dhcp-renewal-running',
      title: `DHCP lease renewal runs on ${client.link}`,
      run: async () => {
        const pid = await client.renewalPid();
        return pid === undefined
          ? fail(`no ${client.kind} renewal process runs`, 'the lease will expire; run `cluster-lab start` again')
          : pass(`${client.kind} pid ${pid}`);
      },
    },
  ];
}

/**
 * A WARN when the renewal client bound another address than the applied one (the leader changed
 * or lost its lease database and gave that address away), else undefined. Nothing applies such an
 * address while the node runs: Consul and Swarm advertise the applied one, so the node re-forms.
 */
export async function leaseMovedWarning(client: DhcpClient): Promise<CheckResult | undefined> {
  const [applied, renewed] = await Promise.all([client.current(), client.renewed()]);
  if (!applied || !renewed || renewed.ip === applied.lease.ip) return undefined;
  return warn(
    `the server now leases ${renewed.ip}, but ${applied.cidr} is applied on ${client.link}`,
    'the leader changed or lost its lease database; run `cluster-lab stop` and then `cluster-lab start` to re-form this node (Consul and Swarm too) on the new address',
  );
}

/**
 * A WARN naming the servers whose leases this node refused (`validateLease`: not the leader,
 * wrong prefix, outside the range…), with the counts by reason, else undefined. None of those
 * leases was applied; the WARN says a rogue or foreign DHCP server answers on the cluster link.
 */
export async function leaseRefusalWarning(client: DhcpClient): Promise<CheckResult | undefined> {
  const refused = await client.refusals();
  if (refused.count === 0) return undefined;
  const servers = Object.entries(refused.byServer)
    .map(([server, n]) => `${server} (${n})`)
    .join(', ');
  return warn(
    `refused ${refused.count} DHCP lease(s) on ${client.link} from ${servers}: ${describeRefusalReasons(refused)}${refused.last ? `; last: ${refused.last.message}` : ''}`,
    `a DHCP server that is not the cluster's leader answers on ${client.link} (with the vxlan backend: anyone on the LAN can): find the host at ${Object.keys(refused.byServer).join(', ')} and stop it — none of its leases was applied`,
  );
}
