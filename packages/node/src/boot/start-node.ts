import { ClusterLabError, type EventSink, Journal, type StepContext, StepRunner } from '@cluster-lab/core';
import type { NodeFacts } from '../node-facts.js';
import type { LinkInfo, NodeServices } from '../node-services.js';
import { serviceContext } from './service-context.js';
import { JOURNAL_KINDS, undoHandlers } from './undo-handlers.js';

/** Options for {@link startNode}. */
export interface StartNodeOptions {
  /** Abort (Ctrl-C, SIGTERM): the run stops between steps and rolls back. */
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** The role implementations: `createNodeServices(…)` for the real packages, or your own. */
  services: NodeServices;
}

/** What {@link startNode} did. */
export interface StartNodeResult {
  /** True when the node was already fully up and nothing changed. */
  alreadyRunning: boolean;
  role: 'leader' | 'follower';
  /** This node's address on the cluster link. */
  address: string;
  link: string;
  swarmRole?: 'manager' | 'worker';
  consulServer?: boolean;
  durationMs: number;
}

/** A change one step made, for the journal (so `stop` undoes it). */
interface JournalRecord {
  kind: string;
  key: string;
  data: Record<string, unknown>;
  /** False when the entry only refreshes bookkeeping (a renewal client) and the machine did not change. Default true. */
  changed?: boolean;
}

/**
 * The Cluster Lab boot flow for one node: preflight → cluster link → leader election →
 * leader: leader address + DHCP server / follower: DHCP lease → Consul → Swarm → supervisor.
 * Every change is journaled in the state dir; a failure or abort rolls back everything; a second
 * run changes nothing and reports `alreadyRunning`; after a crash (or a killed daemon) a new run
 * repairs what is missing from the journal's facts.
 *
 * @example
 * ```ts
 * const { config } = await loadConfig({ file: '/etc/cluster-lab/config.yaml', env: process.env });
 * const services = createNodeServices({ supervisor: { argv: (file) => [myScript, 'supervise', file] } });
 * const result = await startNode(nodeFacts(config), { services, onEvent: console.log });
 * console.log(result.role, result.address);
 * ```
 */
export async function startNode(node: NodeFacts, options: StartNodeOptions): Promise<StartNodeResult> {
  const started = performance.now();
  const { services } = options;
  const { config } = node;
  const signal = options.signal ?? new AbortController().signal;
  const onEvent = options.onEvent ?? (() => {});
  const ctx = serviceContext(node, { signal, onEvent });
  const journal = await Journal.open(node.paths.journal);
  const wasRunning = journal.exists && journal.status === 'running';
  const before = journal.entries.length;
  let changed = false;

  const steps = new StepRunner({ journal, undo: undoHandlers(services, ctx), onEvent, signal });
  /** One boot step: run the service call, then journal what it changed (if anything) so stop undoes exactly that. */
  const step = <T>(
    id: string,
    title: string,
    run: () => Promise<T>,
    record: (outcome: T) => JournalRecord | undefined,
    detail?: (outcome: T) => string,
  ) =>
    steps.step(
      id,
      title,
      async (s: StepContext) => {
        const outcome = await run();
        const entry = record(outcome);
        if (entry) {
          changed ||= entry.changed ?? true;
          await s.record(entry.kind, entry.key, entry.data);
        }
        return outcome;
      },
      detail,
    );

  const result = await steps
    .run(async () => {
      await steps.step('preflight', 'Check configuration and dependencies', () => services.preflight(ctx));
      if (!wasRunning) await journal.setStatus('starting');

      const link = await step(
        'network',
        `Cluster link (${config.network.backend})`,
        () => services.ensureLink(ctx),
        (change) => (change.created || change.broughtUp ? { kind: JOURNAL_KINDS.link, key: change.name, data: { ...change } } : undefined),
        (l) => `${l.name} mtu ${l.mtu}${l.created ? ' (created)' : ''}`,
      );
      const linkInfo: LinkInfo = { name: link.name, mac: link.mac, mtu: link.mtu };

      const election = await step(
        'election',
        'Leader election',
        () => services.elect(ctx, linkInfo),
        (o) =>
          o.claimed
            ? { kind: JOURNAL_KINDS.leaderAddress, key: node.leaderCidr, data: { link: link.name, cidr: node.leaderCidr } }
            : undefined,
        (o) => `${o.role}${o.candidates > 1 ? ` among ${o.candidates} candidates` : ''}`,
      );

      let address = config.leaderAddress;
      if (election.role === 'leader') {
        if (config.dhcp.enabled) {
          await step(
            'dhcp-server',
            'DHCP server on the cluster link',
            () => services.startDhcpServer(ctx, linkInfo, election),
            (ref) => (ref.started ? { kind: JOURNAL_KINDS.dhcpServer, key: ref.pidFile, data: { ...ref } } : undefined),
            () => `${config.dhcp.rangeStart}-${config.dhcp.rangeEnd} on ${link.name} only`,
          );
        }
      } else {
        if (!config.dhcp.enabled) {
          throw new ClusterLabError(
            'FOLLOWER_NEEDS_DHCP',
            'this node is a follower but dhcp.enabled is false, so it has no way to get a cluster address',
            {
              hint: 'set dhcp.enabled: true (the leader serves addresses on the cluster link)',
              errorClass: 'config',
            },
          );
        }
        const lease = await step(
          'dhcp-lease',
          'DHCP lease from the leader',
          () => services.obtainLease(ctx, linkInfo, election),
          // A lease that was already on the link is journaled again only for its renewal client.
          (l) =>
            l.added || l.renewalPidFile
              ? { kind: JOURNAL_KINDS.dhcpLease, key: link.name, data: { link: link.name, lease: { ...l } }, changed: l.added }
              : undefined,
          (l) => `${l.cidr} from ${l.serverId}`,
        );
        address = lease.ip;
      }

      let consulServer: boolean | undefined;
      if (config.consul.enabled) {
        const consul = await step(
          'consul',
          'Consul agent',
          () => services.startConsul(ctx, { role: election.role, address }),
          (o) => (o.started ? { kind: JOURNAL_KINDS.consul, key: 'agent', data: { ...o } } : undefined),
          (o) => `${o.server ? 'server' : 'client'} on ${address}`,
        );
        consulServer = consul.server;
      }

      let swarmRole: 'manager' | 'worker' | undefined;
      if (config.swarm.enabled) {
        const swarm = await step(
          'swarm',
          election.role === 'leader' ? 'Swarm init' : 'Swarm join',
          () => services.joinSwarm(ctx, { role: election.role, address }),
          (o) => (o.joined ? { kind: JOURNAL_KINDS.swarm, key: o.nodeId, data: { ...o } } : undefined),
          (o) => `${o.role} ${o.nodeId.slice(0, 12)}`,
        );
        swarmRole = swarm.role;
        await step(
          'supervisor',
          'Supervisor (swarm reconcile, leadership watch)',
          () => services.startSupervisor(ctx),
          (ref) => (ref.started ? { kind: JOURNAL_KINDS.supervisor, key: ref.pidFile, data: { ...ref } } : undefined),
        );
      }

      return { role: election.role, address, link: link.name, swarmRole, consulServer };
    })
    .catch(async (error: unknown) => {
      // Rolled back completely: leave no journal behind either (a failed start leaves no trace).
      if (journal.entries.length === 0) await journal.delete();
      else await journal.setStatus('failed');
      throw error;
    });

  await journal.setFacts({
    role: result.role,
    address: result.address,
    link: result.link,
    hostname: node.hostname,
    swarmRole: result.swarmRole ?? null,
  });
  await journal.setStatus('running');
  const out: StartNodeResult = {
    alreadyRunning: wasRunning && !changed && journal.entries.length === before,
    role: result.role,
    address: result.address,
    link: result.link,
    durationMs: Math.round(performance.now() - started),
  };
  if (result.swarmRole) out.swarmRole = result.swarmRole;
  if (result.consulServer !== undefined) out.consulServer = result.consulServer;
  return out;
}
