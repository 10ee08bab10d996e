import { type Check, fail, pass, warn } from '@cluster-lab/core';
import type { AgentHealth, ConsulClient } from './api/consul-client.js';
import type { ConsulRuntime } from './runtime/consul-runtime.js';

/**
 * One line naming the agent and the real Consul version it runs, for health and status output:
 * `Consul 1.8.7, node1 (server)`.
 */
export function describeAgent(h: Pick<AgentHealth, 'version' | 'nodeName' | 'server'>): string {
  return `Consul ${h.version}, ${h.nodeName} (${h.server ? 'server' : 'client'})`;
}

/** Inputs of {@link consulHealthChecks}. */
export interface ConsulHealthOptions {
  client: ConsulClient;
  runtime?: ConsulRuntime;
  /** The leader's cluster address; the check verifies the Raft leader runs there. */
  leaderAddress?: string;
  /** Members expected alive (e.g. the number of nodes with a DHCP lease); warns when fewer. */
  expectedMembers?: number;
}

/**
 * Health checks for `cluster-lab health`: the agent process/container runs, its HTTP API
 * answers, a Raft leader is elected (at the leader address), this node's serfHealth passes, and
 * the expected number of members is alive.
 *
 * @example
 * ```ts
 * const report = await runChecks(consulHealthChecks({ client, runtime, leaderAddress: '192.168.200.1', expectedMembers: 3 }));
 * ```
 */
export function consulHealthChecks(options: ConsulHealthOptions): Check[] {
  const { client, runtime } = options;
  const checks: Check[] = [];
  if (runtime) {
    checks.push({
      id: 'consul-agent-running',
      title: 'Consul agent runs',
      run: async () => {
        const s = await runtime.status();
        return s.running ? pass(s.detail) : fail(s.detail, 'run `cluster-lab start` again; `cluster-lab status` shows the Consul log tail');
      },
    });
  }
  checks.push({
    id: 'consul-leader',
    title: 'Consul has a leader',
    run: async () => {
      const h = await client.agentHealth();
      if (!h.leader)
        return fail(`no Raft leader (agent ${h.nodeName} at ${client.address})`, 'is the leader node up and its Consul server running?');
      if (options.leaderAddress && !h.leader.startsWith(`${options.leaderAddress}:`)) {
        return warn(
          `leader is ${h.leader}, not the cluster leader address ${options.leaderAddress}`,
          'a follower server took over; expected after a leader failure',
        );
      }
      return pass(`leader ${h.leader}, this agent ${describeAgent(h)}, serfHealth ${h.serfHealth ?? 'unknown'}`);
    },
  });
  checks.push({
    id: 'consul-members',
    title: 'Consul members alive',
    run: async () => {
      const members = await client.members();
      const alive = members.filter((m) => m.status === 'alive');
      const down = members.filter((m) => m.status === 'failed').map((m) => m.name);
      const detail = `${alive.length}/${members.length} alive${down.length ? `; failed: ${down.join(', ')}` : ''}`;
      if (options.expectedMembers !== undefined && alive.length < options.expectedMembers) {
        return warn(
          `${detail} (expected ${options.expectedMembers})`,
          'a follower has not joined: check its cluster link and `cluster-lab health` there',
        );
      }
      return down.length ? warn(detail, 'failed members are reaped after 72 h, or remove them with `consul force-leave`') : pass(detail);
    },
  });
  return checks;
}
