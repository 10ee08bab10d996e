import { ConsulStore } from '@cluster-lab/consul';
import { ClusterLabError, type EventSink, Journal, type StepContext, StepRunner } from '@cluster-lab/core';
import type { ClusterDiscovery } from '../cluster-state/discover-cluster.js';
import type { NodeFacts } from '../node-facts.js';
import type { BegunConsul, LinkInfo, NodeServices, RunningConsul, ServiceContext, SwarmOutcome } from '../node-services.js';
import { JOURNAL_KINDS } from './journal-kinds.js';
import { rememberCluster } from './remember-cluster.js';
import { serviceContext } from './service-context.js';
import { undoHandlers } from './undo-handlers.js';

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
  /** `leader`: this node holds the leader address (and serves DHCP); `follower`: another node does. */
  role: 'leader' | 'follower';
  /** This node's own address on the cluster link: Consul binds it, Swarm advertises it, on every node. */
  address: string;
  /** The leader address (held by this node when `role` is `leader`). */
  leaderAddress: string;
  link: string;
  swarmRole?: 'manager' | 'worker';
  consulServer?: boolean;
  /** The cluster's id (the identity record in Consul KV), when Consul runs. */
  clusterId?: string;
  /** The leader's look for an existing cluster before it would bootstrap one. */
  discovery?: Pick<ClusterDiscovery, 'decision' | 'reason' | 'candidates'>;
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
 * leader: node address, DHCP server and (after discovering whether a cluster exists) Consul,
 * together / follower: DHCP lease, then Consul → Swarm → supervisor. Consul and Swarm are
 * bootstrapped once, by a leader that finds no cluster; every other start — a restarted
 * leader's included — joins the existing cluster, as a Consul server and Swarm manager when it
 * holds a slot of the cluster's slot table. Every change is journaled in the state dir; a failure
 * or abort rolls back everything; a second run changes nothing and reports `alreadyRunning`;
 * after a crash (or a killed daemon) a new run repairs what is missing.
 *
 * @example
 * ```ts
 * const { config } = await loadConfig({ file: '/etc/cluster-lab/config.yaml', env: process.env });
 * const services = createNodeServices({ supervisor: { argv: (file) => [myScript, 'supervise', file] } });
 * const result = await startNode(await loadNodeFacts(config), { services, onEvent: console.log });
 * console.log(result.role, result.address, result.clusterId);
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
  const record = async (s: StepContext, entry: JournalRecord) => {
    changed ||= entry.changed ?? true;
    await s.record(entry.kind, entry.key, entry.data);
  };
  /** One boot step: run the service call, then journal what it changed (if anything) so stop undoes exactly that. */
  const step = <T>(
    id: string,
    title: string,
    run: () => Promise<T>,
    toRecord: (outcome: T) => JournalRecord | undefined,
    detail?: (outcome: T) => string,
  ) =>
    steps.step(
      id,
      title,
      async (s: StepContext) => {
        const outcome = await run();
        const entry = toRecord(outcome);
        if (entry) await record(s, entry);
        return outcome;
      },
      detail,
    );

  let consul: RunningConsul | undefined;
  try {
    const result = await steps
      .run(async () => {
        await steps.step('preflight', 'Check configuration and dependencies', () => services.preflight(ctx));
        if (!wasRunning) await journal.setStatus('starting');
        if (config.swarm.enabled && !config.consul.enabled) onEvent({ type: 'log', level: 'warn', message: SWARM_WITHOUT_CONSUL });

        const link = await steps.step(
          'network',
          `Cluster link (${config.network.backend})`,
          async (s) => {
            const change = await services.ensureLink(ctx);
            if (change.created || change.broughtUp) await record(s, { kind: JOURNAL_KINDS.link, key: change.name, data: { ...change } });
            for (const setting of await services.tuneKernel(ctx, { name: change.name, mac: change.mac, mtu: change.mtu })) {
              await record(s, { kind: JOURNAL_KINDS.sysctl, key: setting.key, data: { ...setting } });
            }
            return change;
          },
          (l) => `${l.name} mtu ${l.mtu}${l.created ? ' (created)' : ''}`,
        );
        const linkInfo: LinkInfo = { name: link.name, mac: link.mac, mtu: link.mtu };

        // Resolved while the election runs (a `consul version` run costs 0.1–0.2 s on a busy node).
        const prepared = config.consul.enabled ? services.prepareConsul(ctx) : undefined;
        prepared?.catch(() => {});
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

        let address = '';
        let begun: { begun: BegunConsul; discovery?: ClusterDiscovery } | undefined;
        /** The Consul step: the agent is started, and the step ends when it runs (its Raft election is not awaited). */
        const consulStep = async (discovery?: ClusterDiscovery) => {
          const out = await steps.step(
            'consul',
            'Consul agent',
            async (s) => {
              const b = await services.beginConsul(ctx, {
                role: election.role,
                address,
                ...(prepared ? { prepared } : {}),
                ...(discovery ? { discovery } : {}),
              });
              if (b.outcome.started) await record(s, { kind: JOURNAL_KINDS.consul, key: 'agent', data: { ...b.outcome } });
              consul = await b.running();
              return b;
            },
            (b) =>
              `${b.outcome.server ? 'server' : 'client'} on ${address}, ${b.bootstrap ? 'bootstrapping a new cluster' : `joining ${b.join.join(' ')}`}`,
          );
          begun = { begun: out, ...(discovery ? { discovery } : {}) };
        };

        if (election.role === 'leader') {
          const own = step(
            'node-address',
            'Node address',
            () => services.assignNodeAddress(ctx, linkInfo, election),
            (o) => (o.added ? { kind: JOURNAL_KINDS.nodeAddress, key: o.cidr, data: { link: link.name, cidr: o.cidr } } : undefined),
            (o) => `${o.cidr} on ${link.name}, leader address ${node.leaderCidr}`,
          );
          // The followers wait for DHCP right after the election, so it starts at once — with the
          // node address the election already chose and probed reserved, while it is added to
          // the link. The leader's Consul starts as soon as it can bind that address.
          // It waits for the node address on the link: adding it reorders the leader address (see assignNodeAddress).
          const reserved = own.then((o) => o.ip);
          await settled([
            own,
            config.dhcp.enabled
              ? reserved.then((nodeAddress) =>
                  steps.step(
                    'dhcp-server',
                    'DHCP server on the cluster link',
                    (s) => services.takeLeaderDuties(ctx, { link: linkInfo, election, nodeAddress, record: (entry) => record(s, entry) }),
                    () => `${config.dhcp.rangeStart}-${config.dhcp.rangeEnd} on ${link.name} only, ${nodeAddress} reserved`,
                  ),
                )
              : undefined,
            config.consul.enabled
              ? own.then(async (o) => {
                  address = o.ip;
                  const discovery = await steps.step(
                    'discovery',
                    'Look for an existing cluster',
                    () => services.discoverCluster(ctx, { election, nodeAddress: o.ip }),
                    describeDiscovery,
                  );
                  await consulStep(discovery);
                })
              : undefined,
          ]);
          address = (await own).ip;
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
          if (config.consul.enabled) await consulStep();
        }

        const bootstrap = begun ? begun.begun.bootstrap : election.role === 'leader';
        let clusterId = begun?.begun.clusterId;
        let swarm: SwarmOutcome | undefined;
        const running = consul ?? (config.swarm.enabled ? externalConsul(ctx) : undefined);
        // The new cluster's identity and the swarm together: `swarm init` overlaps the Raft election.
        await settled([
          consul && bootstrap
            ? step(
                'cluster',
                'Cluster identity',
                () => services.registerCluster(ctx, consul as RunningConsul),
                () => undefined,
                (i) => `cluster ${i.clusterId}`,
              ).then((i) => {
                clusterId = i.clusterId;
              })
            : undefined,
          config.swarm.enabled && running
            ? step(
                'swarm',
                bootstrap ? 'Swarm init' : 'Swarm join',
                () =>
                  services.joinSwarm(ctx, {
                    role: election.role,
                    address,
                    ...(begun ? { manager: begun.begun.outcome.server } : {}),
                    bootstrap,
                    consul: running,
                  }),
                (o) => (o.joined ? { kind: JOURNAL_KINDS.swarm, key: o.nodeId, data: { ...o } } : undefined),
                (o) => `${o.role} ${o.nodeId.slice(0, 12)}`,
              ).then((o) => {
                swarm = o;
              })
            : undefined,
        ]);
        if (running && running !== consul) running.close();
        if (config.swarm.enabled) {
          await step(
            'supervisor',
            'Supervisor (swarm reconcile, leadership watch)',
            () => services.startSupervisor(ctx),
            (ref) => (ref.started ? { kind: JOURNAL_KINDS.supervisor, key: ref.pidFile, data: { ...ref } } : undefined),
          );
        }
        return {
          role: election.role,
          address,
          link: link.name,
          swarm,
          consulServer: begun?.begun.outcome.server,
          clusterId,
          discovery: begun?.discovery,
        };
      })
      .catch(async (error: unknown) => {
        // Rolled back completely: leave no journal behind either (a failed start leaves no trace).
        if (journal.entries.length === 0) await journal.delete();
        else await journal.setStatus('failed');
        throw error;
      });

    const discovery = result.discovery
      ? { decision: result.discovery.decision, reason: result.discovery.reason, candidates: result.discovery.candidates }
      : undefined;
    await rememberCluster(node, {
      address: result.address,
      ...(result.clusterId ? { clusterId: result.clusterId } : {}),
      ...(result.swarm?.clusterId ? { swarmClusterId: result.swarm.clusterId } : {}),
      ...(consul ? { consul } : {}),
      ...(result.discovery ? { discovery: result.discovery } : {}),
      onEvent,
    });
    await journal.setFacts({
      role: result.role,
      address: result.address,
      leaderAddress: config.leaderAddress,
      link: result.link,
      hostname: node.hostname,
      swarmRole: result.swarm?.role ?? null,
      consulServer: result.consulServer ?? null,
      clusterId: result.clusterId ?? null,
      swarmClusterId: result.swarm?.clusterId ?? null,
      discovery: discovery ?? null,
    });
    await journal.setStatus('running');
    const out: StartNodeResult = {
      alreadyRunning: wasRunning && !changed && journal.entries.length === before,
      role: result.role,
      address: result.address,
      leaderAddress: config.leaderAddress,
      link: result.link,
      durationMs: Math.round(performance.now() - started),
    };
    if (result.swarm) out.swarmRole = result.swarm.role;
    if (result.consulServer !== undefined) out.consulServer = result.consulServer;
    if (result.clusterId) out.clusterId = result.clusterId;
    if (discovery) out.discovery = discovery;
    return out;
  } finally {
    (consul as RunningConsul | undefined)?.close();
  }
}

const SWARM_WITHOUT_CONSUL =
  'swarm.enabled without consul.enabled: Swarm keeps its join tokens in Consul KV, so an agent this start does not run must answer on 127.0.0.1';

/** The swarm's cluster store when `consul.enabled` is false: an agent run by someone else on this node. */
function externalConsul(ctx: ServiceContext): RunningConsul {
  const client = ctx.node.localConsul();
  return { store: new ConsulStore(client), servers: async () => [], close: () => client.close() };
}

/** Waits for every started step, then throws the first failure: a rollback must not start while a sibling step still changes things. */
async function settled(tasks: readonly (Promise<unknown> | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(tasks.filter((t): t is Promise<unknown> => t !== undefined));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

function describeDiscovery(d: ClusterDiscovery): string {
  if (d.decision === 'join') return `cluster found at ${d.answer?.address}, Consul leader ${d.answer?.leader}`;
  if (d.reason === 'no-candidates') return 'no cluster known: bootstrapping a new one';
  return `no answer from ${d.candidates.length} known address(es) in ${(d.durationMs / 1000).toFixed(1)} s: bootstrapping a NEW cluster`;
}
