import { createHash } from 'node:crypto';
import { readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BinaryRuntime,
  type ConsulAgentChanges,
  ConsulClient,
  type ConsulRuntime,
  ConsulStore,
  ContainerRuntime,
  chooseConsulRuntime,
  claimServerSlot,
  consulAgent,
  consulImageForArch,
  nodeIdFromMachineId,
  stopConsulAgent,
} from '@cluster-lab/consul';
import {
  type ClusterConfig,
  ClusterLabError,
  type CommandRunner,
  ConfigError,
  ExecaRunner,
  hostConfigProblems,
  IpRoute2,
  type Network,
  subnetPrefix,
} from '@cluster-lab/core';
import {
  clientPaths,
  createDhcpClient,
  dnsmasqPaths,
  dnsmasqServer,
  type ProbeAnswer,
  probeForDhcpServer,
  RogueDhcpServerError,
} from '@cluster-lab/dhcp';
import { ARP_PROBE_DEADLINE_MS, createRealElectionDeps, electLeader } from '@cluster-lab/election';
import { initManager, join as joinSwarm, leave as leaveSwarm } from '@cluster-lab/swarm';
import { createBackend, type NetworkBackend } from '@cluster-lab/vlan';
import Dockerode from 'dockerode';
import { checkDependencies } from '../deps/dependencies.js';
import type { NodeServices, ServiceContext } from './node-services.js';
import { startSupervisor, stopSupervisor } from './supervisor.js';

/** How long a follower waits for the leader's Consul before claiming a server slot. */
export const LEADER_CONSUL_TIMEOUT_MS = 60_000;
/**
 * A follower that has just lost the election waits this long before its first DHCP DISCOVER.
 * It sees the winner's claim over ARP at once, but the winner serves only after verifying the
 * claim (one more ARP probe, {@link ARP_PROBE_DEADLINE_MS}) and starting dnsmasq (~50 ms here,
 * more on a Pi); a DISCOVER sent before that is only retried after udhcpc's 1 s timeout.
 * Measured on a 3-node lab: 250 ms always missed (lease step 1.5–1.8 s), this hits.
 */
export const FIRST_DISCOVER_DELAY_MS = ARP_PROBE_DEADLINE_MS + 250;
/** Timeout of each cluster-store request while leaving the swarm on `stop` (the local agent answers in ms when healthy). */
export const STOP_STORE_TIMEOUT_MS = 3_000;
/** The leader waits this long for the other nodes to leave the swarm first on a simultaneous stop. */
export const LAST_MANAGER_WAIT_MS = 15_000;

/** Options for {@link createNodeServices}. */
export interface NodeServicesOptions {
  /** Runs programs on this node; default {@link ExecaRunner}. */
  runner?: CommandRunner;
  /** This node's network; default `new IpRoute2(runner)`. */
  network?: Network;
  /** Config file the supervisor re-reads; default: the effective config written to the state dir. */
  configFile?: string;
}

function consulRunDir(config: ClusterConfig): string {
  return join(config.stateDir, 'consul');
}

/**
 * Consul `node_id` for this node: from `/etc/machine-id` and the host name, so it is stable across
 * reboots (Consul rejects a rejoining node whose id changed) yet distinct for nodes that share a
 * machine id (cloned SD cards, the namespaces of the virtual lab).
 */
async function consulNodeId(hostname: string): Promise<string> {
  let machineId = '';
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    machineId = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (machineId) break;
  }
  return nodeIdFromMachineId(createHash('sha256').update(`${machineId}\n${hostname}`).digest('hex').slice(0, 32));
}

/**
 * The real {@link NodeServices}: composes `@cluster-lab/vlan` (cluster link), core's leader
 * election, `@cluster-lab/dhcp` (dnsmasq / DHCP client), `@cluster-lab/consul` and
 * `@cluster-lab/swarm` for one machine (or one lab node, when given that node's runner/network).
 *
 * @example
 * ```ts
 * const services = await createNodeServices(config);
 * await startNode(config, { services });
 * ```
 */
export async function createNodeServices(config: ClusterConfig, options: NodeServicesOptions = {}): Promise<NodeServices> {
  const runner = options.runner ?? new ExecaRunner();
  const network = options.network ?? new IpRoute2(runner);
  const backend: NetworkBackend = createBackend(config, { network, runner });
  const docker = new Dockerode({ socketPath: config.docker.socket });
  const token = config.consul.aclToken;
  const localStore = (timeoutMs?: number) =>
    new ConsulStore(
      new ConsulClient({
        address: `127.0.0.1:${config.consul.httpPort}`,
        ...(token ? { token } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
      }),
    );
  const prefix = subnetPrefix(config);
  const uplink = config.network.backend === 'native' ? undefined : config.interface;

  const consulRuntimeFor = (kind: ConsulAgentChanges['runtime'], ctx: ServiceContext): ConsulRuntime =>
    kind === 'binary'
      ? new BinaryRuntime({ runner, binary: config.consul.binary, runDir: consulRunDir(config), events: ctx.onEvent })
      : new ContainerRuntime({ docker, image: consulImageForArch(process.arch, config.consul.image), pull: false, events: ctx.onEvent });

  // The rogue-DHCP probe (seconds: udhcpc's resolution) runs during the election instead of
  // after it, off the critical path; the result matters only if this node wins.
  let dhcpProbe: Promise<ProbeAnswer | undefined> | undefined;
  let electedNow = false;

  const services: NodeServices = {
    async preflight() {
      const problems = await hostConfigProblems(config, network);
      if (problems.length > 0) throw new ConfigError(problems);
      const missing = (await checkDependencies({ config, runner })).filter((d) => !d.ok && d.required);
      if (missing.length > 0) {
        throw new ClusterLabError('DEPENDENCY_MISSING', `missing: ${missing.map((d) => `${d.name} (${d.detail})`).join(', ')}`, {
          hint: missing[0]?.hint ?? 'run `cluster-lab dependencies --install`',
          errorClass: 'dependency',
        });
      }
    },

    async ensureLink() {
      const r = await backend.ensure();
      return { name: r.link.name, mac: r.link.mac, mtu: r.link.mtu, created: r.created, broughtUp: r.broughtUp };
    },

    async teardownLink(_ctx, change) {
      await backend.teardown({ created: change.created, broughtUp: change.broughtUp });
    },

    async elect(ctx, link) {
      // A leader re-running start already holds the address: no election, nothing to claim.
      const cidr = `${config.leaderAddress}/${prefix}`;
      if ((await network.listAddresses(link.name)).some((a) => a.cidr === cidr)) return { role: 'leader', claimed: false, candidates: 1 };
      if (config.dhcp.enabled && config.role !== 'follower') {
        dhcpProbe = probeForDhcpServer({ runner, link: link.name, signal: ctx.signal });
        dhcpProbe.catch(() => {}); // awaited (and its error reported) by startDhcpServer
      }
      const deps = createRealElectionDeps({ runner, network, onEvent: ctx.onEvent });
      const result = await electLeader({
        link: link.name,
        mac: link.mac,
        leaderAddress: config.leaderAddress,
        prefix,
        priority: config.priority,
        role: config.role,
        network,
        ...deps,
        nodeId: ctx.hostname,
        signal: ctx.signal,
        onEvent: ctx.onEvent,
      });
      electedNow = result.candidates > 1;
      return { role: result.role, claimed: result.claimed, candidates: result.candidates };
    },

    async releaseLeaderAddress(_ctx, link, cidr) {
      if (await network.getLink(link)) await network.delAddress(link, cidr);
    },

    async startDhcpServer(_ctx, link) {
      const answer = dhcpProbe ? await dhcpProbe : undefined;
      if (answer) throw new RogueDhcpServerError(link.name, answer.serverId);
      const handle = await dnsmasqServer({
        runner,
        network,
        config,
        link: link.name,
        probe: dhcpProbe === undefined,
        ...(uplink ? { uplink } : {}),
      }).start();
      return { pidFile: handle.pidFile, started: handle.started, link: link.name };
    },

    async stopDhcpServer(_ctx, ref) {
      await dnsmasqServer({ runner, network, config, link: String(ref.link), ...(uplink ? { uplink } : {}) }).stop();
    },

    async obtainLease(ctx, link) {
      const client = await createDhcpClient({ runner, network, config, link: link.name, hostname: ctx.hostname });
      const previous = await client.current();
      const onLink = previous && (await network.listAddresses(link.name)).some((a) => a.cidr === previous.cidr);
      if (!onLink) {
        if (electedNow) await new Promise((r) => setTimeout(r, FIRST_DISCOVER_DELAY_MS));
        await client.obtain({ signal: ctx.signal });
      }
      const renewal = await client.startRenewal();
      const applied = await client.current();
      if (!applied)
        throw new ClusterLabError('DHCP_LEASE_LOST', `the lease on ${link.name} vanished right after it was applied`, {
          hint: 'run start again',
        });
      return {
        cidr: applied.cidr,
        ip: applied.lease.ip,
        serverId: applied.lease.serverId,
        added: !onLink && applied.added,
        renewalPidFile: renewal.pidFile,
      };
    },

    async releaseLease(ctx, link) {
      const client = await createDhcpClient({ runner, network, config, link, hostname: ctx.hostname });
      await client.release();
    },

    async startConsul(ctx, { role, address }) {
      const { runtime } = await chooseConsulRuntime({ config, runner, docker, runDir: consulRunDir(config), events: ctx.onEvent });
      let server = true;
      if (role === 'follower') {
        // The first `consul.servers` nodes run servers: slots are claimed in the leader's KV.
        const leaderClient = new ConsulClient({
          address: `${config.leaderAddress}:${config.consul.httpPort}`,
          ...(token ? { token } : {}),
        });
        try {
          await leaderClient.waitForLeader({ timeoutMs: LEADER_CONSUL_TIMEOUT_MS, signal: ctx.signal });
          server = await claimServerSlot(new ConsulStore(leaderClient), ctx.hostname, config.consul.servers);
        } finally {
          leaderClient.close();
        }
      }
      const facts = {
        role,
        server,
        clusterAddress: address,
        leaderAddress: config.leaderAddress,
        nodeName: ctx.hostname,
        nodeId: await consulNodeId(ctx.hostname),
        dataDir: join(consulRunDir(config), 'data'),
      };
      const agent = await consulAgent({ config, facts, runtime, events: ctx.onEvent }).start();
      agent.client.close();
      return { server, ref: { ...agent.changes }, started: agent.changes.startedAgent || agent.changes.createdDataDir };
    },

    async stopConsul(ctx, outcome) {
      const changes = outcome.ref as unknown as ConsulAgentChanges;
      const runtime = consulRuntimeFor(changes.runtime, ctx);
      await stopConsulAgent(runtime, changes);
      // The agent's log is a file start created; the runtime keeps it for post-mortems, stop does not.
      if (runtime instanceof BinaryRuntime && changes.startedAgent) {
        await rm(runtime.logFile, { force: true });
        await rmdir(consulRunDir(config)).catch(() => {});
      }
    },

    async joinSwarm(ctx, { role, address }) {
      const store = localStore();
      try {
        const common = {
          docker,
          store,
          advertiseAddr: address,
          managers: config.swarm.managers,
          labels: config.swarm.labels,
          onEvent: ctx.onEvent,
        };
        if (role === 'leader') {
          const r = await initManager(common);
          return { role: 'manager', nodeId: r.nodeId, joined: r.created };
        }
        const r = await joinSwarm({ ...common, signal: ctx.signal });
        return { role: r.role, nodeId: r.nodeId, joined: !r.alreadyMember };
      } finally {
        store.client.close();
      }
    },

    async leaveSwarm(ctx, outcome) {
      // Leaving only does bookkeeping in the store; when the leader (and its Consul) went first,
      // every request would wait out the default 10 s instead of failing fast.
      const store = localStore(STOP_STORE_TIMEOUT_MS);
      try {
        const lead =
          outcome.role === 'manager' &&
          (await network
            .getLink(backend.linkName)
            .then(async (l) => l !== undefined && (await network.listAddresses(l.name)).some((a) => a.local === config.leaderAddress)));
        try {
          await leaveSwarm({
            docker,
            store,
            ...(lead ? { waitForOthersMs: LAST_MANAGER_WAIT_MS, force: true } : {}),
            onEvent: ctx.onEvent,
          });
        } catch (error) {
          // On a simultaneous stop the other managers may leave between our quorum check and our
          // demotion, making this node the last manager; leaving is what stop asked for, so finish it.
          ctx.onEvent({
            type: 'log',
            level: 'warn',
            message: `graceful swarm leave failed (${(error as Error).message}); leaving with force`,
            source: 'swarm',
          });
          await leaveSwarm({ docker, store, force: true, onEvent: ctx.onEvent });
        }
      } finally {
        store.client.close();
      }
    },

    async startSupervisor() {
      return startSupervisor(config, { runner, ...(options.configFile ? { configFile: options.configFile } : {}) });
    },

    async stopSupervisor() {
      await stopSupervisor(config);
    },

    async forceCleanup(ctx) {
      const removed: string[] = [];
      const attempt = async (what: string, fn: () => Promise<unknown>) => {
        try {
          if ((await fn()) !== false) removed.push(what);
        } catch (error) {
          ctx.onEvent({ type: 'log', level: 'warn', message: `could not remove ${what}: ${(error as Error).message}` });
        }
      };
      await attempt('supervisor', () => stopSupervisor(config));
      await attempt('swarm membership', async () => (await leaveSwarm({ docker, force: true, onEvent: ctx.onEvent })).left);
      await attempt('consul agent (binary)', () => consulRuntimeFor('binary', ctx).stop());
      await attempt('consul agent (container)', () => consulRuntimeFor('container', ctx).stop());
      await attempt('DHCP server', () =>
        dnsmasqServer({ runner, network, config, link: backend.linkName, ...(uplink ? { uplink } : {}) }).stop(),
      );
      await attempt('DHCP lease', async () => (await createDhcpClient({ runner, network, config, link: backend.linkName })).release());
      await attempt(
        'leader address',
        async () =>
          (await network.getLink(backend.linkName)) !== undefined &&
          network.delAddress(backend.linkName, `${config.leaderAddress}/${prefix}`),
      );
      await attempt(`cluster link ${backend.linkName}`, () => backend.teardown({ created: backend.kind !== 'native', broughtUp: false }));
      return removed;
    },

    async purgeState() {
      const removed: string[] = [];
      const { leaseFile, dir } = dnsmasqPaths(config.stateDir);
      for (const file of [leaseFile, `${leaseFile}.tmp`]) {
        await rm(file, { force: true });
        removed.push(file);
      }
      // Remove directories start created, only if they are empty now (never anything else).
      for (const d of [clientPaths(config.stateDir, backend.linkName).dir, dir, consulRunDir(config), config.stateDir]) {
        await rmdir(d).catch(() => {});
      }
      return removed;
    },
  };
  return services;
}
