import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { leave } from '@cluster-lab/swarm';
import { readClusterFile } from '../cluster-state/cluster-file.js';
import type { ServiceContext } from '../node-services.js';
import { consulRuntimeFor } from './consul.js';
import { nodeDhcpClient } from './dhcp-lease.js';
import { nodeDnsmasq } from './dhcp-server.js';
import { stopSupervisor } from './supervisor.js';

/**
 * `stop --force`: cleans up by inspection when the journal is missing or corrupt — stops the
 * supervisor, leaves the swarm, stops daemons named by pid files in the state dir, removes the
 * leader address, the node address `cluster.json` names and a cluster link this backend would
 * have created. Kernel settings stay (their previous values were in the journal). Each part is tried on its
 * own (a failure is reported as a warning). Returns what was removed.
 */
export async function forceCleanup(ctx: ServiceContext): Promise<string[]> {
  const { node } = ctx;
  const { network, linkName, backend } = node;
  const removed: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      if ((await fn()) !== false) removed.push(what);
    } catch (error) {
      ctx.onEvent({ type: 'log', level: 'warn', message: `could not remove ${what}: ${(error as Error).message}` });
    }
  };
  await attempt('supervisor', () => stopSupervisor(node));
  await attempt('swarm membership', async () => (await leave({ docker: node.docker, force: true, onEvent: ctx.onEvent })).left);
  await attempt('consul agent (binary)', () => consulRuntimeFor(node, 'binary', ctx.onEvent).stop());
  await attempt('consul agent (container)', () => consulRuntimeFor(node, 'container', ctx.onEvent).stop());
  await attempt('DHCP server', () => nodeDnsmasq(node, linkName).stop());
  await attempt('DHCP lease', async () => (await nodeDhcpClient(node, linkName)).release());
  await attempt(
    'leader address',
    async () => (await network.getLink(linkName)) !== undefined && network.delAddress(linkName, node.leaderCidr),
  );
  const { nodeAddress } = await readClusterFile(node);
  if (nodeAddress) {
    await attempt(
      `node address ${nodeAddress}`,
      async () => (await network.getLink(linkName)) !== undefined && network.delAddress(linkName, `${nodeAddress}/${node.prefix}`),
    );
  }
  await attempt(`cluster link ${linkName}`, () => backend.teardown({ created: backend.kind !== 'native', broughtUp: false }));
  return removed;
}

/**
 * `stop --purge`: deletes state kept across restarts on purpose — the DHCP lease database and
 * `cluster.json` (the cluster this node belonged to, its node address) — and the daemons' logs
 * kept for post-mortems (with their rotated `.1`). Returns the files removed.
 */
export async function purgeState(ctx: ServiceContext): Promise<string[]> {
  const { paths } = ctx.node;
  const removed: string[] = [];
  const { leaseFile, dir } = paths.dnsmasq;
  const logs = [paths.supervisor.logFile, join(paths.consulRunDir, 'consul.log'), paths.dnsmasq.logFile].flatMap((f) => [f, `${f}.1`]);
  for (const file of [leaseFile, `${leaseFile}.tmp`, paths.clusterFile, ...logs]) {
    await rm(file, { force: true });
    removed.push(file);
  }
  // Remove directories start created, only if they are empty now (never anything else).
  for (const d of [paths.dhcpClient.dir, dir, paths.consulRunDir, paths.supervisor.dir, paths.stateDir]) {
    await rmdir(d).catch(() => {});
  }
  return removed;
}
