import { ClusterLabError } from '@cluster-lab/core';
import type { NodeServices } from './node-services.js';
import { discoverClusterOfLeader, registerNewCluster } from './services/cluster.js';
import { ensureClusterLink, teardownClusterLink } from './services/cluster-link.js';
import { beginConsul, prepareConsul, stopConsul } from './services/consul.js';
import { obtainLease, releaseLease } from './services/dhcp-lease.js';
import { stopDhcpServer } from './services/dhcp-server.js';
import { electNode, releaseLeaderAddress } from './services/election.js';
import { forceCleanup, purgeState } from './services/force-cleanup.js';
import { restoreKernelSetting, tuneKernel } from './services/kernel-settings.js';
import { takeLeaderDuties } from './services/leader-duties.js';
import { assignNodeAddress, releaseNodeAddress } from './services/node-address.js';
import { preflight } from './services/preflight.js';
import { type SupervisorLaunch, startSupervisor, stopSupervisor } from './services/supervisor.js';
import { joinSwarm, leaveSwarm } from './services/swarm.js';

/** Options for {@link createNodeServices}. */
export interface NodeServicesOptions {
  /**
   * How `start` launches the supervisor (needed when `swarm.enabled`): your program's supervisor
   * mode, which calls `superviseNode`. The CLI passes its own `cluster-lab supervise`.
   */
  supervisor?: SupervisorLaunch;
}

/**
 * The real {@link NodeServices}: one file per role under `services/`, composing
 * `@cluster-lab/vlan` (cluster link), `@cluster-lab/election`, `@cluster-lab/dhcp` (dnsmasq / DHCP
 * client), `@cluster-lab/consul` and `@cluster-lab/swarm`. The services keep no state of their
 * own: everything about the node comes in the {@link ServiceContext} (`ctx.node`), and what one
 * step hands to a later one travels in its outcome (the election's rogue-DHCP probe).
 *
 * @example
 * ```ts
 * const node = await loadNodeFacts(config);
 * const services = createNodeServices({ supervisor: { argv: (file) => [myScript, 'supervise', file] } });
 * await startNode(node, { services });
 * ```
 */
export function createNodeServices(options: NodeServicesOptions = {}): NodeServices {
  return {
    preflight,
    ensureLink: ensureClusterLink,
    teardownLink: teardownClusterLink,
    tuneKernel,
    restoreKernelSetting,
    prepareConsul,
    elect: electNode,
    releaseLeaderAddress,
    assignNodeAddress,
    releaseNodeAddress,
    takeLeaderDuties: (ctx, args) => takeLeaderDuties(ctx.node, { ...args, signal: ctx.signal, onEvent: ctx.onEvent }),
    stopDhcpServer,
    obtainLease,
    releaseLease: (ctx, link) => releaseLease(ctx, link),
    discoverCluster: discoverClusterOfLeader,
    beginConsul,
    stopConsul,
    registerCluster: registerNewCluster,
    joinSwarm,
    leaveSwarm,
    startSupervisor: (ctx) => {
      if (!options.supervisor)
        throw new ClusterLabError(
          'SUPERVISOR_NOT_CONFIGURED',
          'swarm.enabled needs a supervisor, but createNodeServices got no supervisor launch',
          {
            hint: 'pass createNodeServices({ supervisor: { argv } }) with a program that runs superviseNode, or set swarm.enabled: false',
            errorClass: 'usage',
          },
        );
      return startSupervisor(ctx, options.supervisor);
    },
    stopSupervisor: async (ctx) => {
      await stopSupervisor(ctx.node);
    },
    forceCleanup,
    purgeState,
  };
}
