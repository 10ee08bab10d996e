import type { JournalEntry, SysctlChange, UndoHandler } from '@cluster-lab/core';
import type { ConsulOutcome, DaemonRef, LeaseOutcome, LinkChange, NodeServices, ServiceContext, SwarmOutcome } from '../node-services.js';
import { JOURNAL_KINDS } from './journal-kinds.js';

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
    [JOURNAL_KINDS.nodeAddress]: (e) => {
      const d = data<{ link: string; cidr: string }>(e);
      return services.releaseNodeAddress(ctx, d.link, d.cidr);
    },
    [JOURNAL_KINDS.leaderAddress]: (e) => {
      const d = data<{ link: string; cidr: string }>(e);
      return services.releaseLeaderAddress(ctx, d.link, d.cidr);
    },
    [JOURNAL_KINDS.sysctl]: (e) => services.restoreKernelSetting(ctx, data<SysctlChange>(e)),
    [JOURNAL_KINDS.link]: (e) => services.teardownLink(ctx, data<LinkChange>(e)),
  };
}
