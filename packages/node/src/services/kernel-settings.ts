import { restoreSysctl, type SysctlChange, setSysctls } from '@cluster-lab/core';
import type { LinkInfo, ServiceContext } from '../node-services.js';

/**
 * Lets a socket bind an address the node does not hold (yet). Every node's Consul agent also
 * serves HTTP on the leader address, so `http://<leader address>:8500` reaches whichever node
 * holds it — the keepalived/HAProxy pattern for a moving address. Per network namespace.
 */
export const NONLOCAL_BIND_KEY = 'net.ipv4.ip_nonlocal_bind';

/**
 * The cluster link's `promote_secondaries`. The first address of a subnet on a link is its
 * "primary"; deleting it also deletes every other address of that subnet unless this is set.
 * A leader claims the leader address before it adds its node address, so without it dropping
 * the leader address (a handover) would take the node address — and Consul and Swarm — with it.
 */
export function promoteSecondariesKey(link: string): string {
  return `net/ipv4/conf/${link}/promote_secondaries`;
}

/**
 * Sets the kernel settings the cluster link needs ({@link NONLOCAL_BIND_KEY},
 * {@link promoteSecondariesKey}) where they are not set yet. Returns what changed, to journal;
 * {@link restoreKernelSetting} undoes one.
 */
export async function tuneKernel(ctx: ServiceContext, link: LinkInfo): Promise<SysctlChange[]> {
  return setSysctls(ctx.node.runner, { [NONLOCAL_BIND_KEY]: '1', [promoteSecondariesKey(link.name)]: '1' });
}

/** Puts one setting back to its value before `start` — unless someone changed it since (then it is theirs). */
export async function restoreKernelSetting(ctx: ServiceContext, change: SysctlChange): Promise<void> {
  const outcome = await restoreSysctl(ctx.node.runner, change);
  if (outcome === 'changed-since') {
    ctx.onEvent({
      type: 'log',
      level: 'info',
      message: `${change.key} was changed by someone else since start; left as it is`,
      source: 'kernel',
    });
  }
}
