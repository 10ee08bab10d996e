import type { JournalEntry, UndoHandler } from '@cluster-lab/core';
import type { ConsulOutcome, DaemonRef, LeaseOutcome, LinkChange, NodeServices, ServiceContext, SwarmOutcome } from '../node-services.js';

/** Journal entry kinds written by `startNode`, in the order start makes them. */
export const JOURNAL_KINDS = {
  link: 'cluster-link',
  leaderAddress: 'leader-address',
  dhcpServer: 'dhcp-server',
  dhcpLease: 'dhcp-lease',
  consul: 'consul-agent',
  swarm: 'swarm-member',
  supervisor: 'supervisor',
} as const;

function data<T>(entry: JournalEntry): T {
  return entry.data as unknown as T;
}

/** Undo handlers for every journal kind, bound to the services and context. */
export function undoHandlers(services: NodeServices, ctx: ServiceContext): Record<string, UndoHandler> {
  return {
    [JOURNAL_KINDS.supervisor]: (e) => services.stopSupervisor(ctx, data<DaemonRef>(e)),
    [JOURNAL_KINDS.swarm]: (e) => services.leaveSwarm(ctx, data<SwarmOutcome>(e)),
    [JOURNAL_KINDS.consul]: (e) => services.stopConsul(ctx, data<ConsulOutcome>(e)),
    [JOURNAL_KINDS.dhcpLease]: (e) => {
      const d = data<{ link: string; lease: LeaseOutcome }>(e);
      return services.releaseLease(ctx, d.link, d.lease);
    },
    [JOURNAL_KINDS.dhcpServer]: (e) => services.stopDhcpServer(ctx, data<DaemonRef>(e)),
    [JOURNAL_KINDS.leaderAddress]: (e) => {
      const d = data<{ link: string; cidr: string }>(e);
      return services.releaseLeaderAddress(ctx, d.link, d.cidr);
    },
    [JOURNAL_KINDS.link]: (e) => services.teardownLink(ctx, data<LinkChange>(e)),
  };
}
