import { ConsulStore } from '@cluster-lab/consul';
import { describeError, type EventSink, ignoreEvents } from '@cluster-lab/core';
import type { MemberInfo } from '@cluster-lab/election';
import { inspectEngine } from '@cluster-lab/swarm';
import { readClusterFile } from '../cluster-state/cluster-file.js';
import { readClusterIdentity, registerCluster } from '../cluster-state/cluster-identity.js';
import type { NodeFacts } from '../node-facts.js';

/**
 * What this node tells the others on the election channel about its membership (cluster id,
 * node address, Consul server, Swarm manager), refreshed by the supervisor from `cluster.json`,
 * the cluster's identity record in Consul KV, the local Consul agent and Docker.
 */
export class MembershipInfo {
  private info: MemberInfo = {};
  private readonly node: NodeFacts;
  private readonly emit: EventSink;
  private readonly address: string | undefined;

  constructor(node: NodeFacts, options: { address?: string; onEvent?: EventSink } = {}) {
    this.node = node;
    this.emit = options.onEvent ?? ignoreEvents;
    // The leader address is a pointer, never a node's own address.
    this.address = options.address !== node.config.leaderAddress ? options.address : undefined;
  }

  /** The membership as last refreshed. */
  current(): MemberInfo {
    return { ...this.info };
  }

  /**
   * Re-reads every source; keeps what it had for a source that does not answer. On the holder of
   * the leader address (`holder`) it also creates the cluster's identity record when the store has
   * none (a cluster bootstrapped before identities existed), create-only, so it never replaces one.
   */
  async refresh(holder: boolean): Promise<MemberInfo> {
    const { node } = this;
    const file = await readClusterFile(node);
    const next: MemberInfo = { ...this.info };
    const nodeAddress = file.nodeAddress ?? this.address;
    if (nodeAddress !== undefined) next.nodeAddress = nodeAddress;
    if (file.clusterId) next.clusterId = file.clusterId;
    if (node.config.consul.enabled) {
      const client = node.localConsul({ timeoutMs: 2_000 });
      try {
        const store = new ConsulStore(client);
        next.consulServer = (await client.agentHealth()).server;
        let identity = await readClusterIdentity(store);
        if (!identity && holder) {
          identity = (await registerCluster(store, { consulServers: node.config.consul.servers, managers: node.config.swarm.managers }))
            .identity;
          this.emit({ type: 'log', level: 'info', message: `recorded the cluster's identity ${identity.clusterId}`, source: 'cluster' });
        }
        if (identity && !file.clusterId) next.clusterId = identity.clusterId;
      } catch (error) {
        this.emit({ type: 'log', level: 'debug', message: `membership refresh: Consul: ${describeError(error)}`, source: 'cluster' });
      } finally {
        client.close();
      }
    }
    if (node.config.swarm.enabled) {
      try {
        const info = await inspectEngine(node.docker);
        next.swarmManager = info.Swarm.LocalNodeState === 'active' && info.Swarm.ControlAvailable;
      } catch (error) {
        this.emit({ type: 'log', level: 'debug', message: `membership refresh: Docker: ${describeError(error)}`, source: 'cluster' });
      }
    }
    this.info = next;
    return this.current();
  }
}
