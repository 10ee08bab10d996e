import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findConsulBinary } from '@cluster-lab/consul';
import { deriveClusterKeys, findExecutable, generateSecret, readPidFile, readSecretFile } from '@cluster-lab/core';
import type { Lab } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, labExec, nodeStatus, roles, swarmNodes } from './lab-helpers.js';
import { ROGUE_CLUSTER_ADDRESS, RogueHost, type RogueHttpReply } from './rogue-host.js';

const NODES = ['node1', 'node2', 'node3'];
const MANAGER_TOKEN_KV = 'cluster-lab/swarm/tokens/manager';

/** The running 3-node lab the scenarios share with the file that calls them. */
export interface RogueLab {
  lab: Lab;
  leader: string;
  followers: string[];
}

/**
 * Scenarios for a running 3-node lab, called from `lab-3-nodes.e2e.test.ts`, which owns the lab
 * (one lab up and down less in the suite). Issue 14's rogue: a host on the LAN that joins the
 * cluster link (vxlan) without the cluster secret. It must not read or write the Swarm join tokens through any node's Consul, not join
 * Consul's gossip, and not get a follower to apply its DHCP leases — and the cluster stays
 * healthy throughout; nor does it take the leader address or role (the election's messages are
 * authenticated with the secret; unauthenticated candidacies and ARP answers change nothing).
 */
export function rogueScenarios(shared: () => RogueLab): void {
  describe('a rogue host on the cluster link without the secret', rogueSuite(shared));
}

function rogueSuite(shared: () => RogueLab) {
  return () => {
    let lab: Lab;
    let rogue: RogueHost;
    let leader = '';
    let followers: string[] = [];
    let addresses: string[] = [];
    let managementToken = '';
    let consul = '';
    /** Every HTTP reply the rogue got: the join token must never be in one. */
    const replies: RogueHttpReply[] = [];

    const rogueGet = async (url: string, method: 'GET' | 'PUT' = 'GET', body?: string) => {
      const reply = await rogue.http(url, method, body);
      replies.push(reply);
      return reply;
    };
    const consulAs = (node: string, args: string[]) => labExec(node, ['env', `CONSUL_HTTP_TOKEN=${managementToken}`, consul, ...args]);
    const expectHealthy = async () => {
      for (const n of NODES) {
        await eventually(async () => (await labExec(n, ['cluster-lab', 'health'])).code === 0, 60_000, `${n} healthy`);
      }
    };

    beforeAll(async () => {
      ({ lab, leader, followers } = shared());
      addresses = (await Promise.all(NODES.map((n) => nodeStatus(n)))).map((s) => String(s.address));
      managementToken = deriveClusterKeys(await readSecretFile(lab.secretFile)).managementToken;
      consul = (await findConsulBinary()) as string;
      rogue = await RogueHost.join(lab);
    });
    afterAll(async () => {
      await rogue?.destroy();
    });

    it('takes neither the leader address nor the role: the leader keeps both and stays healthy', async () => {
      expect((await rogue.http('http://192.168.200.1:8500/v1/status/leader')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 3000));
      expect(await nodeStatus(leader)).toMatchObject({ role: 'leader', leaderAddress: '192.168.200.1', holdsLeaderAddress: true });
      expect((await roles(NODES)).leader).toBe(leader);
      const health = await labExec(leader, ['cluster-lab', 'health']);
      expect(health.code, health.stdout).toBe(0);
    });

    it("is on the cluster link: every node's Consul HTTP API answers it (status needs no token)", async () => {
      for (const address of addresses) {
        const reply = await rogueGet(`http://${address}:8500/v1/status/leader`);
        // The Raft leader is one of the servers, at its node address (never the leader address).
        expect(reply.status, address).toBe(200);
        expect(addresses.map((a) => `"${a}:8300"`)).toContain(reply.body);
      }
    });

    it('cannot read the Swarm manager token (403 on every node) nor rewrite swarm/managers; the token never reaches it', async () => {
      for (const address of addresses) {
        expect((await rogueGet(`http://${address}:8500/v1/kv/${MANAGER_TOKEN_KV}`)).status, address).toBe(403);
        expect((await rogueGet(`http://${address}:8500/v1/kv/cluster-lab/?recurse=true`)).status, address).not.toBe(200);
        expect((await rogueGet(`http://${address}:8500/v1/kv/cluster-lab/swarm/managers`, 'PUT', '[]')).status, address).toBe(403);
        // A token of its own making (another secret's) is unknown to the cluster.
        const guessed = deriveClusterKeys(generateSecret()).managementToken;
        expect((await rogueGet(`http://${address}:8500/v1/kv/${MANAGER_TOKEN_KV}?token=${guessed}`)).status, address).toBe(403);
      }
      // What the rogue was after: the token itself, and the sealed value in KV (members read it with the secret).
      const plain = (await labExec(leader, ['docker', 'swarm', 'join-token', '-q', 'manager'])).stdout.trim();
      const stored = await consulAs(leader, ['kv', 'get', MANAGER_TOKEN_KV]);
      expect(stored.code, stored.stderr).toBe(0);
      const sealed = stored.stdout.trim();
      expect(plain).toMatch(/^SWMTKN-1-/);
      expect(sealed).toMatch(/^clenc1\./);
      expect(sealed).not.toContain('SWMTKN');
      for (const r of replies) {
        expect(r.body).not.toContain(plain);
        expect(r.body).not.toContain(sealed);
        expect(r.body).not.toContain('SWMTKN');
      }
    });

    it("cannot join Consul's gossip: its agent (no gossip key) never appears among the members", async () => {
      const config = await rogue.file(
        'consul.json',
        JSON.stringify({
          datacenter: 'cluster-lab',
          node_name: 'rogue',
          data_dir: join(rogue.dir, 'consul-data'),
          server: false,
          bind_addr: ROGUE_CLUSTER_ADDRESS,
          advertise_addr: ROGUE_CLUSTER_ADDRESS,
          client_addr: '127.0.0.1',
          retry_join: ['192.168.200.1'],
          retry_interval: '1s',
          disable_update_check: true,
        }),
      );
      await rogue.spawn(consul, ['agent', `-config-file=${config}`], 'consul.log');
      // Several retry_join rounds.
      await new Promise((r) => setTimeout(r, 6000));
      const members = await consulAs(leader, ['members']);
      expect(members.code, members.stderr).toBe(0);
      expect(members.stdout).not.toContain('rogue');
      expect(members.stdout.trim().split('\n').slice(1)).toHaveLength(3);
      const own = await rogue.runner.run(consul, ['members', '-http-addr=127.0.0.1:8500'], { reject: false });
      expect(own.stdout).toContain('rogue');
      expect(own.stdout).not.toMatch(/node[123]/);
      await expectHealthy();
    });

    it('its DHCP offers (its own server id, mask 128.0.0.0) are refused by a follower that re-leases; the leader’s lease is applied', async () => {
      const dnsmasq = (await findExecutable('dnsmasq')) as string;
      await rogue.spawn(
        dnsmasq,
        [
          '--keep-in-foreground',
          '--conf-file=/dev/null',
          '--port=0',
          '--interface=vx200',
          '--bind-interfaces',
          '--dhcp-authoritative',
          '--no-ping',
          '--leasefile-ro',
          '--dhcp-range=192.168.200.50,192.168.200.60,1h',
          '--dhcp-option=option:netmask,128.0.0.0',
        ],
        'dnsmasq.log',
      );
      const follower = followers[0] as string;
      const node = lab.node(follower);
      const stop = await labExec(follower, ['cluster-lab', 'stop']);
      expect(stop.code, stop.stdout + stop.stderr).toBe(0);
      // Make the race deterministic: hold the leader's dnsmasq until the follower has heard (and
      // refused) the rogue, then let the leader answer. Without the pause either may answer first.
      const leaderDnsmasq = (await readPidFile(join(lab.node(leader).dir, 'cluster-lab', 'dhcp', 'dnsmasq.pid'))) as number;
      process.kill(leaderDnsmasq, 'SIGSTOP');
      let start: ReturnType<typeof labExec> | undefined;
      try {
        start = labExec(follower, ['cluster-lab', 'start']);
        const refusals = join(node.dir, 'cluster-lab', 'dhcp', 'client-vx200', 'refused-leases.json');
        await eventually(async () => JSON.parse(await readFile(refusals, 'utf8')).count >= 1, 60_000, 'a refused rogue lease');
      } finally {
        process.kill(leaderDnsmasq, 'SIGCONT');
      }
      const started = await start;
      expect(started.code, started.stdout + started.stderr).toBe(0);
      expect(started.stderr).toContain(`refused DHCP lease 192.168.200.`);
      expect(started.stderr).toContain(`from ${ROGUE_CLUSTER_ADDRESS}: the server is not the authenticated leader`);
      const status = await nodeStatus(follower);
      const host = Number(String(status.address).split('.')[3]);
      expect(host).toBeGreaterThanOrEqual(101);
      expect(host).toBeLessThanOrEqual(200);
      // Besides the election channel's link-local address (the supervisor keeps it for heartbeats), only the lease.
      const cidrs = (await node.ip.listAddresses('vx200'))
        .filter((a) => a.family === 'inet' && !a.cidr.startsWith('169.254.'))
        .map((a) => a.cidr);
      expect(cidrs).toEqual([`${status.address}/24`]);
      // health names the rogue (a WARN, not a FAIL: the node itself is fine). Right after the
      // restart the swarm may still list the follower's old entry as down for a reconcile round.
      let health = await labExec(follower, ['cluster-lab', 'health']);
      await eventually(
        async () => {
          health = await labExec(follower, ['cluster-lab', 'health']);
          return health.code === 0;
        },
        60_000,
        `${follower} healthy after its restart`,
      ).catch(() => undefined);
      expect(health.code, health.stdout).toBe(0);
      expect(health.stdout).toMatch(
        new RegExp(`WARN.*refused \\d+ DHCP lease\\(s\\) on vx200 from ${ROGUE_CLUSTER_ADDRESS.replaceAll('.', '\\.')}`),
      );
    });

    it('the cluster stays healthy throughout: every check passes, 3 Consul members, 3 Ready swarm nodes', async () => {
      await expectHealthy();
      for (const n of NODES) expect((await labExec(n, ['cluster-lab', 'health'])).stdout).not.toContain('FAIL');
      const s = await nodeStatus(leader);
      expect((s.consul as { members: { status: string }[] }).members.filter((m) => m.status === 'alive')).toHaveLength(3);
      await eventually(
        async () => {
          const nodes = await swarmNodes(leader);
          return nodes.length === 3 && nodes.every((n) => n.status === 'Ready');
        },
        60_000,
        '3 Ready swarm nodes',
      );
    });
  };
}
