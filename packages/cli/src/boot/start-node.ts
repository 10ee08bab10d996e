import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { type ClusterConfig, ClusterLabError, type EventSink, Journal, leaderCidr, StepRunner } from '@cluster-lab/core';
import type { LinkInfo, NodeServices, ServiceContext } from './node-services.js';
import { JOURNAL_KINDS, undoHandlers } from './undo-handlers.js';

/** File name of the journal inside `config.stateDir`. */
export const JOURNAL_FILE = 'journal.json';

/** Options for {@link startNode}. */
export interface StartNodeOptions {
  /** Abort (Ctrl-C, SIGTERM): the run stops between steps and rolls back. */
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** The role implementations: `await createNodeServices(config)` for the real packages, or your own. */
  services: NodeServices;
  /** Node name; defaults to the host name. */
  hostname?: string;
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

/**
 * Events from inside a step (packages report their own sub-steps) become debug log lines, so the
 * progress output has exactly one line per boot step.
 */
export function nestedEvents(sink: EventSink): EventSink {
  return (event) => {
    if (event.type === 'step-finished')
      sink({ type: 'log', level: 'debug', message: `${event.title}: ${event.detail ?? 'done'} (${event.durationMs} ms)` });
    else if (event.type === 'step-failed') sink({ type: 'log', level: 'debug', message: `${event.title} failed: ${event.error.message}` });
    else if (event.type !== 'step-started' && event.type !== 'step-skipped') sink(event);
  };
}

/** The journal of a config's state dir. */
export function journalPath(config: ClusterConfig): string {
  return join(config.stateDir, JOURNAL_FILE);
}

/**
 * The Cluster Lab boot flow for this machine: preflight → cluster link → leader election →
 * leader: leader address + DHCP server / follower: DHCP lease → Consul → Swarm. Every change is
 * journaled in `config.stateDir`; a failure or abort rolls back everything; a second run changes
 * nothing and reports `alreadyRunning`; after a crash (or a killed daemon) a new run repairs what
 * is missing from the journal's facts.
 *
 * @example
 * ```ts
 * const { config } = await loadConfig({ file: '/etc/cluster-lab/config.yaml' });
 * const result = await startNode(config, { services: await createNodeServices(config), onEvent: console.log });
 * console.log(result.role, result.address);
 * ```
 */
export async function startNode(config: ClusterConfig, options: StartNodeOptions): Promise<StartNodeResult> {
  const started = performance.now();
  const { services } = options;
  const signal = options.signal ?? new AbortController().signal;
  const onEvent = options.onEvent ?? (() => {});
  const ctx: ServiceContext = {
    config,
    hostname: options.hostname ?? config.hostname ?? osHostname(),
    signal,
    onEvent: nestedEvents(onEvent),
  };
  const journal = await Journal.open(journalPath(config));
  const wasRunning = journal.exists && journal.status === 'running';
  const before = journal.entries.length;
  let changed = false;

  const steps = new StepRunner({ journal, undo: undoHandlers(services, ctx), onEvent, signal });
  const result = await steps
    .run(async () => {
      await steps.step('preflight', 'Check configuration and dependencies', () => services.preflight(ctx));
      if (!wasRunning) await journal.setStatus('starting');

      const link = await steps.step(
        'network',
        `Cluster link (${config.network.backend})`,
        async (step) => {
          const change = await services.ensureLink(ctx);
          if (change.created || change.broughtUp) {
            changed = true;
            await step.record(JOURNAL_KINDS.link, change.name, { ...change });
          }
          return change;
        },
        (l) => `${l.name} mtu ${l.mtu}${l.created ? ' (created)' : ''}`,
      );
      const linkInfo: LinkInfo = { name: link.name, mac: link.mac, mtu: link.mtu };

      const election = await steps.step(
        'election',
        'Leader election',
        async (step) => {
          const outcome = await services.elect(ctx, linkInfo);
          if (outcome.claimed) {
            changed = true;
            const cidr = leaderCidr(config);
            await step.record(JOURNAL_KINDS.leaderAddress, cidr, { link: link.name, cidr });
          }
          return outcome;
        },
        (o) => `${o.role}${o.candidates > 1 ? ` among ${o.candidates} candidates` : ''}`,
      );

      let address = config.leaderAddress;
      if (election.role === 'leader') {
        if (config.dhcp.enabled) {
          await steps.step(
            'dhcp-server',
            'DHCP server on the cluster link',
            async (step) => {
              const ref = await services.startDhcpServer(ctx, linkInfo);
              if (ref.started) {
                changed = true;
                await step.record(JOURNAL_KINDS.dhcpServer, ref.pidFile, { ...ref });
              }
              return ref;
            },
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
        const lease = await steps.step(
          'dhcp-lease',
          'DHCP lease from the leader',
          async (step) => {
            const outcome = await services.obtainLease(ctx, linkInfo);
            if (outcome.added || outcome.renewalPidFile) {
              changed ||= outcome.added;
              await step.record(JOURNAL_KINDS.dhcpLease, link.name, { link: link.name, lease: { ...outcome } });
            }
            return outcome;
          },
          (l) => `${l.cidr} from ${l.serverId}`,
        );
        address = lease.ip;
      }

      let consulServer: boolean | undefined;
      if (config.consul.enabled) {
        const consul = await steps.step(
          'consul',
          'Consul agent',
          async (step) => {
            const outcome = await services.startConsul(ctx, { role: election.role, address });
            if (outcome.started) {
              changed = true;
              await step.record(JOURNAL_KINDS.consul, 'agent', { ...outcome });
            }
            return outcome;
          },
          (o) => `${o.server ? 'server' : 'client'} on ${address}`,
        );
        consulServer = consul.server;
      }

      let swarmRole: 'manager' | 'worker' | undefined;
      if (config.swarm.enabled) {
        const swarm = await steps.step(
          'swarm',
          election.role === 'leader' ? 'Swarm init' : 'Swarm join',
          async (step) => {
            const outcome = await services.joinSwarm(ctx, { role: election.role, address });
            if (outcome.joined) {
              changed = true;
              await step.record(JOURNAL_KINDS.swarm, outcome.nodeId, { ...outcome });
            }
            return outcome;
          },
          (o) => `${o.role} ${o.nodeId.slice(0, 12)}`,
        );
        swarmRole = swarm.role;
        await steps.step('supervisor', 'Supervisor (swarm reconcile, leadership watch)', async (step) => {
          const ref = await services.startSupervisor(ctx);
          if (ref.started) {
            changed = true;
            await step.record(JOURNAL_KINDS.supervisor, ref.pidFile, { ...ref });
          }
          return ref;
        });
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
    hostname: ctx.hostname,
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
