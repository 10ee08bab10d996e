import { readFile } from 'node:fs/promises';
import { ConsulStore, describeAgent } from '@cluster-lab/consul';
import { type Check, cidrContains, fail, isProcessAlive, pass, readPidFile, skip, warn } from '@cluster-lab/core';
import { clientPaths, createDhcpClient, type DhcpClient, leaseMovedWarning, leaseRefusalWarning } from '@cluster-lab/dhcp';
import { ArpingProber, detectDuplicateLeader } from '@cluster-lab/election';
import { inRecordedSwarm, swarmChecks } from '@cluster-lab/swarm';
import type { JournalView } from '../journal-view.js';
import type { NodeFacts } from '../node-facts.js';
import { securityChecks } from '../security/security-checks.js';
import { readSupervisorStatus } from '../supervise/supervisor-status.js';
import { clusterIdentityCheck } from './cluster-identity-check.js';
import { leadershipChecks } from './leadership-checks.js';

/** What the checks need: the node and its journal (if any). */
export interface NodeCheckContext {
  node: NodeFacts;
  journal: JournalView | undefined;
}

/**
 * The `cluster-lab health` checks, the original's PASS/FAIL list and more: started, cluster link,
 * address, leader reachable, exactly one leader, DHCP bound to the cluster link only, the cluster
 * secret (WARN with `security: open`) and Consul's ACLs and gossip encryption, Consul
 * agent/leader/membership, Swarm membership/quorum/readiness, supervisor alive. Each FAIL
 * carries a hint.
 */
export function nodeChecks(ctx: NodeCheckContext): Check[] {
  const { node, journal } = ctx;
  const { config, runner, network, backend, prefix } = node;
  const facts = (journal?.facts ?? {}) as { role?: 'leader' | 'follower'; address?: string; link?: string; hostname?: string };
  const running = journal?.status === 'running';
  const link = facts.link ?? node.linkName;
  const prober = new ArpingProber({ runner });
  // One FAIL says the node is not started; the checks that depend on it are skipped, not failed.
  const notStarted = () => fail('this node is not started', 'run `cluster-lab start`');
  const needsStart = () => skip('node not started');
  const consul = () => node.localConsul({ timeoutMs: 3000 });

  const checks: Check[] = [
    {
      id: 'started',
      title: 'node started',
      run: async () =>
        running
          ? pass(`${facts.role} ${facts.address} on ${link}${facts.role === 'leader' ? `, holding ${config.leaderAddress}` : ''}`)
          : journal
            ? fail(`journal status is "${journal.status}"`, 'run `cluster-lab start` (or `stop` to clean up)')
            : notStarted(),
    },
    {
      id: 'cluster-link',
      title: `cluster link (${config.network.backend})`,
      run: async () => {
        const d = await backend.describe();
        if (d.ok)
          return pass(`${d.name} up, mtu ${d.mtu}${d.vlanId ? `, VLAN ${d.vlanId}` : ''}${d.vni ? `, VNI ${d.vni} port ${d.port}` : ''}`);
        const first = d.problems[0];
        return fail(d.problems.map((p) => p.message).join('; '), first?.hint);
      },
    },
    {
      id: 'cluster-address',
      title: 'node address (and leader address) on the link',
      run: async () => {
        if (!running) return needsStart();
        const addrs = (await network.listAddresses(link)).filter((a) => a.family === 'inet');
        const expected = [`${facts.address}/${prefix}`, ...(facts.role === 'leader' ? [node.leaderCidr] : [])];
        const missing = expected.filter((cidr) => !addrs.some((a) => a.cidr === cidr));
        if (missing.length > 0)
          return fail(
            `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not on ${link} (has: ${addrs.map((a) => a.cidr).join(', ') || 'none'})`,
            'run `cluster-lab start` again',
          );
        if (!cidrContains(config.subnet, facts.address ?? ''))
          return fail(`${facts.address} is outside ${config.subnet}`, 'check the DHCP range');
        return pass(`${expected.join(' + ')} on ${link}`);
      },
    },
    {
      id: 'single-leader',
      title: 'exactly one leader',
      run: async () => {
        if (!running) return needsStart();
        if (facts.role === 'leader') {
          const mac = (await network.requireLink(link)).mac;
          const verdict = await detectDuplicateLeader({
            link,
            mac,
            priority: config.priority,
            leaderAddress: config.leaderAddress,
            prober,
          });
          if (!verdict.duplicate) return pass(`this node holds ${config.leaderAddress}, nobody else answers`);
          const rogues = new Set((await readSupervisorStatus(node))?.leadership?.rogues.map((r) => r.mac) ?? []);
          if (verdict.owners.every((o) => rogues.has(o.mac)))
            return fail(
              `rogue host ${verdict.owners.map((o) => o.mac).join(', ')} (no cluster secret) also answers for ${config.leaderAddress}; this node keeps defending it`,
              'take that host off the cluster link (see the rogue-leader-address check)',
            );
          return fail(
            `another host (${verdict.owners.map((o) => o.mac).join(', ')}) also answers for ${config.leaderAddress}`,
            'two holders: the lower-ranked one yields within seconds once their supervisors hear each other; if it persists, check `cluster-lab health` there',
          );
        }
        const owners = await prober.probe(config.leaderAddress, link);
        if (owners.length === 1) return pass(`leader ${config.leaderAddress} is ${owners[0]?.mac}`);
        if (owners.length === 0)
          return fail(
            `nobody answers for the leader address ${config.leaderAddress}`,
            'is the leader up? does the switch pass the cluster link (VLAN tags)? try `cluster-lab probe`',
          );
        return fail(
          `${owners.length} hosts answer for ${config.leaderAddress}: ${owners.map((o) => o.mac).join(', ')}`,
          'split brain: stop the extra leader and start it again',
        );
      },
    },
    ...leadershipChecks(node, running),
    facts.role === 'follower'
      ? {
          id: 'dhcp-lease',
          title: 'DHCP lease renewed in the background',
          run: async () => {
            if (!running) return needsStart();
            const paths = clientPaths(config.stateDir, link);
            const pid = await readPidFile(paths.renewalPidFile);
            if (!pid) return fail('the DHCP renewal client is not running', 'run `cluster-lab start` again');
            const client = await obtainingClient(node, link);
            return (await leaseMovedWarning(client)) ?? (await leaseRefusalWarning(client)) ?? pass(`renewal client pid ${pid}`);
          },
        }
      : {
          id: 'dhcp-server',
          title: 'DHCP server only on the cluster link',
          run: async () => {
            if (!running) return needsStart();
            if (!config.dhcp.enabled) return skip('dhcp.enabled is false');
            const paths = node.paths.dnsmasq;
            const pid = await readPidFile(paths.pidFile);
            if (!pid) return fail('dnsmasq is not running', 'run `cluster-lab start` again; see the dnsmasq log in the state dir');
            const conf = await readFile(paths.confFile, 'utf8');
            // dnsmasq binds to the interface that holds its listen address: the leader address, on the cluster link only.
            const listen = [...conf.matchAll(/^listen-address=(.+)$/gm)].map((m) => m[1]);
            const onLink = (await node.network.listAddresses(link)).some((a) => a.cidr === node.leaderCidr);
            if (
              listen.length !== 1 ||
              listen[0] !== config.leaderAddress ||
              /^interface=/m.test(conf) ||
              !/^bind-interfaces$/m.test(conf) ||
              !onLink
            ) {
              return fail(
                listen.length
                  ? `dnsmasq listens on ${listen.join(', ')}${onLink ? '' : `; ${config.leaderAddress} is not on ${link}`}`
                  : 'dnsmasq serves every interface',
                `it must serve ${link} only, at ${config.leaderAddress}: run \`cluster-lab stop\` and \`start\``,
              );
            }
            return pass(`dnsmasq pid ${pid} bound to ${config.leaderAddress} on ${link} only`);
          },
        },
  ];

  checks.push(...securityChecks(node, running));
  if (config.consul.enabled) {
    checks.push(
      {
        id: 'consul-agent',
        title: 'Consul agent answers',
        run: async () => {
          if (!running) return needsStart();
          const c = consul();
          try {
            const h = await c.agentHealth();
            return pass(describeAgent(h));
          } finally {
            c.close();
          }
        },
      },
      {
        id: 'consul-leader',
        title: 'Consul has a leader and this node is a member',
        run: async () => {
          if (!running) return needsStart();
          const c = consul();
          try {
            const h = await c.agentHealth();
            if (!h.leader) return fail('no Consul leader', 'is the leader node up? servers need a majority');
            const members = await c.members();
            const self = members.find((m) => m.name === h.nodeName);
            if (self?.status !== 'alive')
              return fail(`this node is "${self?.status ?? 'missing'}" in the member list`, 'restart the agent: `cluster-lab start`');
            return pass(`leader ${h.leader}, ${h.membersAlive}/${h.membersTotal} members alive`);
          } finally {
            c.close();
          }
        },
      },
    );
  }
  if (config.consul.enabled) checks.push(clusterIdentityCheck(node, journal));
  if (config.swarm.enabled) {
    const { docker } = node;
    checks.push(...swarmChecks({ docker }).map((c) => ({ ...c, run: running ? c.run : async () => needsStart() })));
    checks.push({
      id: 'swarm-recorded',
      title: "in the leader's swarm",
      run: async () => {
        if (!running) return needsStart();
        const client = consul();
        try {
          const member = await inRecordedSwarm({ docker, store: new ConsulStore(client) });
          if (member === undefined) return skip('no swarm recorded in the cluster store, or it does not answer');
          return member
            ? pass('the swarm the cluster store records')
            : fail(
                'this node is in another swarm than the one the cluster store records (a split: two swarms)',
                "run `cluster-lab stop` and then `cluster-lab start` on this node to join the leader's swarm",
              );
        } finally {
          client.close();
        }
      },
    });
    checks.push({
      id: 'supervisor',
      title: 'supervisor running',
      run: async () => {
        if (!running) return needsStart();
        const pid = await readPidFile(node.paths.supervisor.pidFile);
        if (pid && (await isProcessAlive(pid))) return pass(`pid ${pid}`);
        return warn('the supervisor is not running: new nodes are not labelled, stale nodes not removed', 'run `cluster-lab start` again');
      },
    });
  }
  return checks;
}

/**
 * The DHCP client as the adapter that obtained the lease (their hook variables differ). Only its
 * lease files are read: no program runs, so none has to be located.
 */
async function obtainingClient(node: NodeFacts, link: string): Promise<DhcpClient> {
  const options = { runner: node.runner, network: node.network, config: node.config, link, locate: async (name: string) => name };
  const kind = (await (await createDhcpClient(options)).current())?.kind;
  return createDhcpClient(kind ? { ...options, kind } : options);
}
