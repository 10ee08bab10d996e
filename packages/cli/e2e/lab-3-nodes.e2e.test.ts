import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { findConsulBinary } from '@cluster-lab/consul';
import { isProcessAlive, killAndWait, readPidFile } from '@cluster-lab/core';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { dockerdPaths, type Lab, openLab, startDockerd } from '@cluster-lab/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';
import { eventually, labExec, nodeStatus, pidIn, roles, swarmNodes } from './lab-helpers.js';
import { argv, REPO_ROOT, readmeQuickStart } from './readme-commands.js';
import { rogueScenarios } from './rogue-scenarios.js';

const NODES = ['node1', 'node2', 'node3'];
/** `GET /v1/agent/self` on the leader address, from inside a node (Node's fetch; no curl needed), with the management token `lab exec` hands over. */
const LEADER_HTTP =
  "fetch('http://192.168.200.1:8500/v1/agent/self', { headers: { 'X-Consul-Token': process.env.CONSUL_HTTP_TOKEN ?? '' } }).then(async (r) => { if (!r.ok) { console.error(r.status); process.exit(1); } process.stdout.write(await r.text()); })";
/** The member rows of `consul members` output (without its header). */
const memberRows = (stdout: string) => stdout.trim().split('\n').slice(1).filter(Boolean);

describe.skipIf(skipUnlessRoot())("3-node lab from the README's main command: simultaneous start through the built CLI", () => {
  let lab: Lab;
  let upOutput = '';
  let leader = '';
  let followers: string[] = [];
  beforeAll(async () => {
    await runCli(['lab', 'down']);
    // The README's main command, exactly as written: set up (already done here) and `lab up`.
    const [file, ...args] = argv(readmeQuickStart().main);
    const code = await new Promise<number>((resolve) => {
      execFile(
        file,
        args,
        { cwd: REPO_ROOT, timeout: 600_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
        (error, stdout, stderr) => {
          upOutput = stdout + stderr;
          resolve(error ? (typeof error.code === 'number' ? error.code : 1) : 0);
        },
      );
    });
    expect(code, upOutput).toBe(0);
    lab = (await openLab('cluster-lab')) as Lab;
    expect(lab).toBeDefined();
    ({ leader, followers } = await roles(NODES));
  });
  afterAll(async () => {
    const down = await runCli(['lab', 'down'], { timeoutMs: 300_000 });
    expect(down.code, down.stderr).toBe(0);
    expect(await openLab('cluster-lab')).toBeUndefined();
  });

  it('prints a status table and how to use the lab, on real Consul (no test-double banner)', () => {
    expect(upOutput).toMatch(/NODE\s+ROLE\s+ADDRESS/);
    expect(upOutput).not.toContain('TEST DOUBLE');
    expect(upOutput).toMatch(/cluster-lab lab exec node\d -- docker node ls/);
  });

  it('elects exactly one holder of the leader address; every node has its own node address in the DHCP range', async () => {
    const statuses = await Promise.all(NODES.map((n) => nodeStatus(n)));
    expect(statuses.filter((s) => s.role === 'leader')).toHaveLength(1);
    const leader = statuses.find((s) => s.role === 'leader');
    expect(leader).toMatchObject({ leaderAddress: '192.168.200.1', holdsLeaderAddress: true });
    expect(statuses.filter((s) => s.holdsLeaderAddress === false)).toHaveLength(2);
    const addresses = statuses.map((s) => String(s.address));
    for (const ip of addresses) {
      const host = Number(ip.split('.')[3]);
      expect(ip.startsWith('192.168.200.')).toBe(true);
      expect(host).toBeGreaterThanOrEqual(101);
      expect(host).toBeLessThanOrEqual(200);
    }
    expect(new Set(addresses).size).toBe(3);
    // One cluster: the same identity everywhere, recorded with the swarm's id.
    expect(new Set(statuses.map((s) => s.clusterId)).size).toBe(1);
    expect(leader?.clusterId).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(statuses.map((s) => s.swarmClusterId)).size).toBe(1);
  });

  it('Consul has 3 alive members and a leader, bound to node addresses (never the leader address)', async () => {
    const statuses = await Promise.all(NODES.map((n) => nodeStatus(n)));
    const s = await nodeStatus(followers[0] as string);
    const consul = s.consul as { leader?: string; members: { status: string; address: string }[] };
    expect(statuses.map((x) => `${x.address}:8300`)).toContain(consul.leader);
    expect(consul.members.filter((m) => m.status === 'alive')).toHaveLength(3);
    expect(consul.members.map((m) => m.address).sort()).toEqual(statuses.map((x) => String(x.address)).sort());
  });

  it('the leader address reaches the Consul agent of the node holding it, from every node', async () => {
    const leaderStatus = await nodeStatus(leader);
    for (const n of followers) {
      const run = await labExec(n, ['node', '-e', LEADER_HTTP]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).Config.NodeName).toBe(leader);
      expect(leaderStatus.address).not.toBe('192.168.200.1');
    }
  });

  it('real Consul 1.8.7: `consul members` inside a node lists 3 alive servers, health names the version', async () => {
    const consul = await findConsulBinary();
    // ACLs deny anonymous requests; `lab exec` hands the lab's management token to the command.
    const members = await labExec(followers[1] as string, [consul as string, 'members']);
    expect(members.code, members.stderr).toBe(0);
    const anonymous = await labExec(followers[1] as string, ['env', 'CONSUL_HTTP_TOKEN=', consul as string, 'members']);
    expect(memberRows(anonymous.stdout)).toHaveLength(0);
    expect(
      memberRows(members.stdout)
        .map((r) => r.split(/\s+/).slice(0, 5))
        .map(([name, , status, type, build]) => `${name} ${status} ${type} ${build}`)
        .sort(),
    ).toEqual(NODES.map((n) => `${n} alive server 1.8.7`));
    const health = await labExec(leader, ['cluster-lab', 'health']);
    expect(health.stdout).toMatch(/PASS.*Consul 1\.8\.7, node\d \(server\)/);
  });

  it('docker node ls shows 3 Ready nodes, all managers', async () => {
    const nodes = await swarmNodes(leader);
    expect(nodes.map((n) => n.hostname).sort()).toEqual(NODES);
    expect(nodes.every((n) => n.status === 'Ready')).toBe(true);
    expect(nodes.filter((n) => n.manager !== '')).toHaveLength(3);
  });

  it('health passes on every node', async () => {
    for (const n of NODES) {
      const run = await labExec(n, ['cluster-lab', 'health']);
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).not.toContain('FAIL');
    }
  });

  it("runs the seed's Use Case 1: a web service on node2 fetched by name from node3", async () => {
    const net = await labExec(leader, ['docker', 'network', 'create', '--driver', 'overlay', '--attachable', 'my-net']);
    expect(net.code, net.stderr).toBe(0);
    const svc = await labExec(leader, [
      'docker',
      'service',
      'create',
      '--detach',
      '--no-resolve-image',
      '--name',
      'web',
      '--network',
      'my-net',
      '--endpoint-mode',
      'dnsrr',
      '--constraint',
      'node.hostname==node2',
      'cluster-lab/busybox:latest',
      'sh',
      '-c',
      'mkdir -p /www && echo hello-from-node2 > /www/index.html && httpd -f -p 80 -h /www',
    ]);
    expect(svc.code, svc.stderr).toBe(0);
    await eventually(
      async () => (await labExec('node2', ['docker', 'ps', '--filter', 'name=web', '--format', '{{.Status}}'])).stdout.startsWith('Up'),
      60_000,
      'web on node2',
    );
    let body = '';
    await eventually(
      async () => {
        const r = await labExec('node3', [
          'docker',
          'run',
          '--rm',
          '--network',
          'my-net',
          'cluster-lab/busybox:latest',
          'wget',
          '-q',
          '-O-',
          'http://web/',
        ]);
        body = r.stdout;
        return body.includes('hello-from-node2');
      },
      60_000,
      'page from node3',
    );
    expect(body).toContain('hello-from-node2');
    await labExec(leader, ['docker', 'service', 'rm', 'web']);
    await eventually(async () => (await labExec(leader, ['docker', 'network', 'rm', 'my-net'])).code === 0, 30_000, 'network removed');
  });

  it('runs the examples against the cluster (membership via Consul, a custom health check)', async () => {
    const node = lab.node(followers[0] as string);
    const config = `${node.dir}/config.yaml`;
    const watch = await labExec(node.name, ['node', `${REPO_ROOT}examples/watch-membership.ts`, '--config', config, '--once']);
    expect(watch.code, watch.stdout + watch.stderr).toBe(0);
    for (const n of NODES) expect(watch.stdout).toContain(n);
    const health = await labExec(node.name, ['node', `${REPO_ROOT}examples/custom-health-check.ts`, '--config', config]);
    expect(health.code, health.stdout + health.stderr).toBe(0);
    expect(health.stdout).toContain('PASS');
  });

  // Issue 14's rogue host, on this lab while it is healthy (its own lab would cost a lab up/down).
  rogueScenarios(() => ({ lab, leader, followers }));

  it('a second start changes nothing', async () => {
    for (const n of NODES) {
      const run = await labExec(n, ['cluster-lab', 'start']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('already running');
    }
  });

  it('a killed Consul agent on a follower is restarted by start, with no duplicate member', async () => {
    const follower = followers[1] as string;
    const node = lab.node(follower);
    const pid = await pidIn(node.dir, 'consul', 'consul.pid');
    process.kill(pid, 'SIGKILL');
    const run = await labExec(follower, ['cluster-lab', 'start']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toContain('already running');
    const s = await nodeStatus(leader);
    const members = (s.consul as { members: { name: string; status: string }[] }).members;
    expect(members.filter((m) => m.name === follower)).toHaveLength(1);
    await eventually(async () => (await labExec(follower, ['cluster-lab', 'health'])).code === 0, 30_000, `${follower} healthy`);
  });

  it('a Docker restart leaves the node in the cluster: after dockerd comes back it is a Ready member with its labels, and healthy, with no start', async () => {
    const follower = followers[0] as string;
    const node = lab.node(follower);
    const idBefore = (await labExec(follower, ['docker', 'info', '--format', '{{.Swarm.NodeID}}'])).stdout.trim();
    const supervisor = await pidIn(node.dir, 'supervisor', 'supervisor.pid');
    const dockerd = lab.state.dockerds.find((d) => d.node === follower);
    const pid = await readPidFile(dockerd?.pidFile as string);
    // What systemd does on `systemctl restart docker` (or an upgrade) is a graceful stop; a crash is SIGKILL. Both here.
    await killAndWait(pid as number, 5_000, 'SIGKILL');
    // containerd dies with dockerd, but not at once; a new dockerd that still sees its pid file waits for it.
    await rm(`${node.dir}/x/containerd/containerd.pid`, { force: true });
    await startDockerd(node.runner, dockerdPaths(node.dir, lab.id, node.name));
    await eventually(
      async () => (await labExec(follower, ['docker', 'info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim() === 'active',
      60_000,
      `${follower} back in the swarm`,
    );
    await eventually(
      async () => {
        const nodes = await swarmNodes(leader);
        return nodes.length === 3 && nodes.every((n) => n.status === 'Ready');
      },
      60_000,
      `${follower} Ready again, without a duplicate entry`,
    );
    expect((await labExec(follower, ['docker', 'info', '--format', '{{.Swarm.NodeID}}'])).stdout.trim()).toBe(idBefore);
    const labels = await labExec(leader, ['docker', 'node', 'inspect', idBefore, '--format', '{{json .Spec.Labels}}']);
    expect(JSON.parse(labels.stdout)).toMatchObject({ 'cluster-lab.role': 'follower' });
    // The supervisor rode it out (it only talks to dockerd's socket), and health passes — no `start` needed.
    expect(await isProcessAlive(supervisor)).toBe(true);
    await eventually(async () => (await labExec(follower, ['cluster-lab', 'health'])).code === 0, 60_000, `${follower} healthy`);
    const again = await labExec(follower, ['cluster-lab', 'start']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('already running');
  });

  it('two starts at once on one node: one runs, the other waits for the state-dir lock; the journal stays whole', async () => {
    const [a, b] = await Promise.all([labExec(leader, ['cluster-lab', 'start']), labExec(leader, ['cluster-lab', 'start'])]);
    for (const run of [a, b]) expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(a.stdout + b.stdout).toContain('already running');
    // The one that had to wait said whom it waited for (unless the first was done before it asked).
    const waited = `${a.stderr}${b.stderr}`;
    if (waited) expect(waited).toMatch(/is in use by pid \d+ \(`cluster-lab start`\); waiting up to 10 s/);
    const journal = JSON.parse(await readFile(`${lab.node(leader).dir}/cluster-lab/journal.json`, 'utf8')) as {
      status: string;
      entries: { kind: string; key: string }[];
    };
    expect(journal.status).toBe('running');
    const keys = journal.entries.map((e) => `${e.kind} ${e.key}`);
    expect(new Set(keys).size).toBe(keys.length);
    // No lock file is left once both are done.
    expect(await readdir(`${lab.node(leader).dir}/cluster-lab`)).not.toContain('run.lock');
  });

  /** A clean reboot: systemd stops the unit, the machine goes down (every process, every link made at run time), comes back with dockerd, the unit starts. */
  const reboot = async (node: string) => {
    const stop = await labExec(node, ['cluster-lab', 'stop']);
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    await lab.powerOff(node);
    await lab.powerOn(node);
    const start = await labExec(node, ['cluster-lab', 'start']);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    return start;
  };

  // With the leader's reboot below: every node rebooted in turn (the rolling reboot of issue 13).
  it('each follower rebooted in turn (stop, power-cycle, start) is back in the same swarm, without a duplicate swarm node', async () => {
    for (const follower of followers) {
      const before = await nodeStatus(follower);
      await reboot(follower);
      await eventually(
        async () => {
          const nodes = await swarmNodes(leader);
          return nodes.length === 3 && nodes.every((n) => n.status === 'Ready');
        },
        60_000,
        `three Ready nodes without duplicates after rebooting ${follower}`,
      );
      expect(await nodeStatus(follower), follower).toMatchObject({ swarmClusterId: before.swarmClusterId, address: before.address });
    }
  });

  it('the leader rebooted (stop, power-cycle, start) rejoins the SAME swarm and Consul, once, with its address, and health passes everywhere', async () => {
    const before = await nodeStatus(leader);
    const start = await reboot(leader);
    // `start` returns once the node is in Consul and in the swarm (its labels applied by a manager).
    console.log(`leader restart → rejoined: ${/ready in (\S+ s)/.exec(start.stdout)?.[1]} (shared machine)`);
    // It looked before it bootstrapped, found the cluster and joined it — no new cluster.
    expect(start.stdout).toContain('Swarm join');
    expect(start.stdout).not.toContain('Swarm init');
    const consul = await findConsulBinary();
    await eventually(
      async () => {
        const statuses = await Promise.all(NODES.map((n) => nodeStatus(n)));
        const swarms = await Promise.all(NODES.map((n) => swarmNodes(n).catch(() => [])));
        const members = await labExec(NODES[0] as string, [consul as string, 'members']);
        const alive = members.stdout
          .trim()
          .split('\n')
          .slice(1)
          .filter((l) => /\balive\b/.test(l)).length;
        return (
          statuses.every((s) => s.running === true) &&
          new Set(statuses.map((s) => s.clusterId)).size === 1 &&
          swarms.every((nodes) => nodes.length === 3 && nodes.every((x) => x.status === 'Ready')) &&
          alive === 3
        );
      },
      60_000,
      'one swarm and one Consul with all three nodes',
    );
    const after = await nodeStatus(leader);
    // The same cluster and swarm. A follower may have taken the leader address while it was down
    // (failover): whoever holds it, one node does — and it offers the old leader its own address
    // back (the reservation made for it travels in the replicated lease table).
    const holders = (await Promise.all(NODES.map((n) => nodeStatus(n)))).filter((s) => s.holdsLeaderAddress === true);
    expect(holders).toHaveLength(1);
    expect(after).toMatchObject({ clusterId: before.clusterId, swarmClusterId: before.swarmClusterId, address: before.address });
    for (const n of NODES) {
      // Still one entry per host name (the old leader's stale entry was removed).
      expect((await swarmNodes(n)).map((x) => x.hostname).sort(), n).toEqual(NODES);
    }
    // Servers and managers are the same three nodes again.
    expect(after.consul).toMatchObject({ server: true });
    await eventually(
      async () => {
        for (const n of NODES) {
          const run = await labExec(n, ['cluster-lab', 'health']);
          if (run.code !== 0 || run.stdout.includes('FAIL')) return false;
        }
        return true;
      },
      60_000,
      'health PASS on every node',
    );
  });

  it('stop on every node leaves nothing that start created', async () => {
    const runs = await Promise.all(NODES.map((n) => labExec(n, ['cluster-lab', 'stop', '--verbose'])));
    for (const r of runs) expect(r.code, r.stdout + r.stderr).toBe(0);
    const output = Object.fromEntries(NODES.map((n, i) => [n, `${runs[i]?.stdout}${runs[i]?.stderr}`]));
    for (const node of lab.nodes) {
      const links = (await node.ip.listLinks()).map((l) => l.name);
      expect(links).not.toContain('vx200');
      const addrs = (await node.ip.listAddresses()).map((a) => a.local);
      expect(addrs.filter((a) => a.startsWith('192.168.200.') || a.startsWith('169.254.'))).toEqual([]);
      const info = await labExec(node.name, ['docker', 'info', '--format', '{{.Swarm.LocalNodeState}}']);
      expect(info.stdout.trim()).toBe('inactive');
      // docker_gwbridge, which the swarm init/join made, went with the swarm membership.
      const networks = await labExec(node.name, ['docker', 'network', 'ls', '--format', '{{.Name}}']);
      expect(networks.stdout.split('\n'), `${node.name}: docker_gwbridge after stop\n${output[node.name]}`).not.toContain(
        'docker_gwbridge',
      );
      expect(links).not.toContain('docker_gwbridge');
      const left = await readdir(`${node.dir}/cluster-lab`, { recursive: true }).catch(() => [] as string[]);
      // Kept on purpose: the DHCP lease database (stable addresses across restarts), cluster.json
      // (the cluster the next start looks for before it would bootstrap one) and the daemons'
      // logs (post-mortems; `stop --purge` deletes them).
      const kept = /^(cluster\.json|dhcp(\/dnsmasq\.(leases|log))?|consul(\/consul\.log)?|supervisor(\/supervisor\.log)?)$/;
      expect(left.filter((f) => !kept.test(String(f)))).toEqual([]);
      expect(left).toContain('supervisor/supervisor.log');
      // The kernel setting start changed is back to its value before start.
      const nonlocal = await labExec(node.name, ['cat', '/proc/sys/net/ipv4/ip_nonlocal_bind']);
      expect(nonlocal.stdout.trim()).toBe('0');
    }
  });
});
