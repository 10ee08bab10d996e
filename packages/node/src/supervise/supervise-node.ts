import { stat } from 'node:fs/promises';
import { ConsulStore } from '@cluster-lab/consul';
import { describeError, type EventSink, OPEN_SECURITY_WARNING, type ProgressEvent } from '@cluster-lab/core';
import { syncLeaseTable } from '@cluster-lab/dhcp';
import type { LeadershipLoop } from '@cluster-lab/election';
import { join, startReconciler } from '@cluster-lab/swarm';
import { readJournalView } from '../journal-view.js';
import type { NodeFacts } from '../node-facts.js';
import { carryOutPromotion } from './consul-promotion.js';
import { electionSecurity } from './election-security.js';
import { MembershipInfo } from './membership-info.js';
import { MembershipUpkeep, UPKEEP_INTERVAL_MS } from './membership-upkeep.js';
import { startNodeLeadership } from './node-leadership.js';
import { type SupervisorStatus, writeSupervisorStatus } from './supervisor-status.js';
import { SWARM_REPAIR_INTERVAL_MS, SwarmRepair } from './swarm-repair.js';

/** Options of {@link superviseNode}. */
export interface SuperviseNodeOptions {
  /** Ends the supervision (the CLI aborts it on SIGTERM from `stop`, and on SIGINT). */
  signal: AbortSignal;
  /** One line per thing the supervisor did; default none. */
  log?: (message: string) => void;
}

/** The supervisor's timers. */
export const SUPERVISOR_TICK_MS = 1_000;
/** How often the membership this node announces is re-read (cluster id, Consul server, Swarm manager). */
export const MEMBERSHIP_REFRESH_MS = 5_000;
/** How often a node looks for a promotion request for itself in Consul KV. */
export const PROMOTION_CHECK_MS = 2_000;
/** How long a re-join by {@link SwarmRepair} may wait for tokens and the join itself. */
export const SWARM_REJOIN_TIMEOUT_MS = 60_000;
/** How long the supervisor waits for `start` to record the node's facts before giving up. */
export const FACTS_WAIT_MS = 120_000;

/**
 * The supervisor loop of a started node (the `cluster-lab supervise` process that `start`
 * leaves running), for as long as the node is up:
 * - **leadership** (every node): heartbeats from the holder of the leader address, failover when
 *   it goes silent, yielding to a better-ranked authenticated holder after a partition heals
 *   (no restart: Consul and Swarm stay), rogue detection, answers to booting strangers — see
 *   `startLeadershipLoop`;
 * - **lease table** (the holder): dnsmasq's lease file mirrored into Consul KV on every change, so
 *   the next holder never hands out an address twice;
 * - **swarm reconcile** (managers): labels, stale entries, manager count;
 * - **membership upkeep** (the swarm's Raft leader): nodes gone longer than
 *   `membership.removeAfter` removed from both stores, their seat given to a healthy node;
 * - **swarm repair** (every node): an engine stuck in `error` or `pending`, or removed from the
 *   swarm while it was cut off, joins again through a live manager ({@link SwarmRepair});
 * - **promotion** (every node): a seat given to this node by upkeep turns its Consul agent into a server.
 *
 * What it knows goes to `<stateDir>/supervisor/status.json` for `health` and `status`. Resolves
 * when `signal` aborts and everything has stopped.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * process.once('SIGTERM', () => stop.abort());
 * await superviseNode(await loadNodeFacts(config), { signal: stop.signal, log: console.log });
 * ```
 */
export async function superviseNode(node: NodeFacts, options: SuperviseNodeOptions): Promise<void> {
  const { config, network } = node;
  const { signal } = options;
  const log = options.log ?? (() => {});
  const onEvent: EventSink = (e: ProgressEvent) => {
    if (e.type === 'log' && e.level !== 'debug') log(`[${e.source ?? 'supervisor'}] ${e.message}`);
  };
  log(`supervising ${node.hostname}`);
  const facts = await waitForFacts(node, signal);
  const status: SupervisorStatus = { updatedAt: Date.now(), pid: process.pid };

  const reconciler = config.swarm.enabled
    ? startReconciler({
        docker: node.docker,
        store: new ConsulStore(node.localConsul()),
        managers: config.swarm.managers,
        onEvent,
        onRound: (r) => {
          const did = [
            r.labelled.length ? `labelled ${r.labelled.join(',')}` : '',
            r.removed.length ? `removed stale ${r.removed.map((n) => n.hostname).join(',')}` : '',
            r.promoted.length ? `promoted ${r.promoted.join(',')}` : '',
            r.demoted.length ? `demoted ${r.demoted.join(',')}` : '',
          ].filter(Boolean);
          if (did.length) log(`[swarm] ${did.join('; ')}`);
        },
      })
    : undefined;

  const membership = new MembershipInfo(node, { ...(facts?.address ? { address: facts.address } : {}), onEvent });
  let leadership: LeadershipLoop | undefined;
  if (facts?.link) {
    try {
      const security = await electionSecurity(node);
      if (security.mode === 'open') log(`WARN ${OPEN_SECURITY_WARNING}`);
      const holder = (await network.listAddresses(facts.link)).some((a) => a.cidr === node.leaderCidr);
      await membership.refresh(holder).catch(() => undefined);
      const link = await network.requireLink(facts.link);
      leadership = await startNodeLeadership(node, {
        link: { name: link.name, mac: link.mac },
        security,
        membership: () => membership.current(),
        onEvent,
      });
    } catch (error) {
      log(`ERROR leadership supervision cannot run: ${describeError(error)}`);
    }
  } else {
    log('ERROR the journal names no cluster link: leadership supervision is off (is the node started?)');
  }

  const consulStoreClient = config.consul.enabled ? node.localConsul({ timeoutMs: 3_000 }) : undefined;
  const upkeep =
    config.swarm.enabled && consulStoreClient
      ? new MembershipUpkeep({
          docker: node.docker,
          consul: consulStoreClient,
          store: new ConsulStore(consulStoreClient),
          hostname: node.hostname,
          removeAfterMs: config.membership.removeAfter * 1000,
          servers: config.consul.servers,
          onEvent,
        })
      : undefined;

  const address = facts?.address;
  const repairStore = config.swarm.enabled && address ? new ConsulStore(node.localConsul()) : undefined;
  const swarmRepair =
    repairStore && address
      ? new SwarmRepair({
          docker: node.docker,
          store: repairStore,
          rejoin: () =>
            join({
              docker: node.docker,
              store: repairStore,
              advertiseAddr: address,
              managers: config.swarm.managers,
              labels: config.swarm.labels,
              nodeRole: leadership?.state().role === 'leader' ? 'leader' : 'follower',
              timeoutMs: SWARM_REJOIN_TIMEOUT_MS,
              // The repair already waited out its grace: give a stuck identity up at once.
              pendingGraceMs: 0,
              ...(node.keys ? { tokenKey: node.keys.swarmTokenKey } : {}),
              onEvent,
              signal,
            }),
          onEvent,
        })
      : undefined;
  // A re-join takes seconds: it runs beside the ticks, so status and upkeep never wait for it.
  let repairing: Promise<void> | undefined;

  const last = { membership: 0, upkeep: 0, promotion: 0, swarmRepair: 0, leaseMtime: -1 };
  const tick = async () => {
    const now = Date.now();
    const holder = leadership?.state().role === 'leader';
    if (now - last.membership >= MEMBERSHIP_REFRESH_MS) {
      last.membership = now;
      await membership.refresh(holder).catch(() => undefined);
    }
    if (holder && config.dhcp.enabled && consulStoreClient) {
      const mtime = await leaseFileMtime(node);
      if (mtime !== undefined && mtime !== last.leaseMtime) {
        try {
          await syncLeaseTable(new ConsulStore(consulStoreClient), node.paths.dnsmasq.leaseFile);
          last.leaseMtime = mtime;
          status.leaseSync = { lastSyncAt: now };
        } catch (error) {
          status.leaseSync = { ...status.leaseSync, lastError: describeError(error) };
        }
      }
    }
    if (upkeep && now - last.upkeep >= UPKEEP_INTERVAL_MS) {
      last.upkeep = now;
      await upkeep.round();
      status.upkeep = upkeep.state();
    }
    if (swarmRepair && !repairing && now - last.swarmRepair >= SWARM_REPAIR_INTERVAL_MS) {
      last.swarmRepair = now;
      repairing = swarmRepair.round().then(
        (state) => {
          status.swarmRepair = state;
          repairing = undefined;
        },
        () => {
          repairing = undefined;
        },
      );
    }
    if (config.consul.enabled && now - last.promotion >= PROMOTION_CHECK_MS) {
      last.promotion = now;
      const promotion = await carryOutPromotion(node, onEvent);
      if (promotion) {
        status.promotion = promotion;
        log(`[consul] ${promotion.detail}`);
      }
    }
    if (leadership) status.leadership = leadership.state();
    status.updatedAt = Date.now();
    await writeSupervisorStatus(node, status);
  };

  while (!signal.aborted) {
    try {
      await tick();
    } catch (error) {
      log(`WARN supervisor round failed: ${describeError(error)}`);
    }
    await sleep(SUPERVISOR_TICK_MS, signal);
  }
  log('stopping');
  await Promise.all([reconciler?.stop(), leadership?.stop(), repairing]);
  consulStoreClient?.close();
}

/** The facts `start` recorded (link, address); waits while start is still running. */
async function waitForFacts(node: NodeFacts, signal: AbortSignal): Promise<{ link?: string; address?: string } | undefined> {
  const deadline = Date.now() + FACTS_WAIT_MS;
  for (;;) {
    const view = await readJournalView(node).catch(() => undefined);
    const facts = view?.facts as { link?: string; address?: string } | undefined;
    if (facts?.link || Date.now() > deadline || signal.aborted) return facts;
    await sleep(200, signal);
  }
}

async function leaseFileMtime(node: NodeFacts): Promise<number | undefined> {
  return stat(node.paths.dnsmasq.leaseFile).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
