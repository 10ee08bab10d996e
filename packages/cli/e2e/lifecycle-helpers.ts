import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findConsulBinary } from '@cluster-lab/consul';
import { createLab, type Lab, type LabNode } from '@cluster-lab/lab';
import { stringify } from 'yaml';
import { labNodeConfig } from '../src/lab/lab-node-config.js';
import { runCli } from './cli-process.js';
import { eventually, labExec, nodeStatus } from './lab-helpers.js';

/** The leader address of the lab's clusters (the default config). */
export const VIP = '192.168.200.1';
/** The cluster link inside lab nodes (vxlan backend). */
export const LINK = 'vx200';

/** Options of {@link createLifecycleLab}. */
export interface LifecycleLabOptions {
  nodes: number;
  /** `membership.removeAfter` of every node (seconds); short in tests. */
  removeAfter: number;
  /** `failover.leaderTimeout` (seconds); default the product default. */
  leaderTimeout?: number;
}

/**
 * A lab for lifecycle scenarios under the CLI's lab name (so `cluster-lab lab exec/down` work on
 * it), with a config per node as `lab up` writes it plus the lifecycle settings. Nothing is
 * started: call {@link startNodes}.
 */
export async function createLifecycleLab(options: LifecycleLabOptions): Promise<Lab> {
  await runCli(['lab', 'down'], { timeoutMs: 300_000 });
  const consulBinary = await findConsulBinary();
  if (!consulBinary) throw new Error('no real consul: run `sudo bash scripts/setup.sh`');
  const lab = await createLab({
    name: 'cluster-lab',
    nodes: options.nodes,
    docker: true,
    image: true,
    lan: true,
    router: true,
    persistent: true,
  });
  for (const node of lab.nodes) {
    const config = {
      ...labNodeConfig({
        nodeName: node.name,
        nodeDir: node.dir,
        backend: 'vxlan',
        dockerSocket: node.dockerSocket as string,
        secretFile: lab.secretFile,
        consulBinary,
      }),
      failover: { leaderTimeout: options.leaderTimeout ?? 5 },
      membership: { removeAfter: options.removeAfter },
    };
    await writeFile(join(node.dir, 'config.yaml'), stringify(config));
  }
  return lab;
}

/** `cluster-lab start` in every named node at once; throws with the output of a node that failed. */
export async function startNodes(names: readonly string[]): Promise<void> {
  const runs = await Promise.all(names.map(async (n) => ({ n, run: await labExec(n, ['cluster-lab', 'start'], 300_000) })));
  const failed = runs.filter((r) => r.run.code !== 0);
  if (failed.length)
    throw new Error(failed.map((f) => `${f.n}: start failed (${f.run.code})\n${f.run.stdout}\n${f.run.stderr}`).join('\n'));
}

/** Names of the nodes whose cluster link holds the leader address. */
export async function vipHolders(lab: Lab, names: readonly string[] = lab.nodes.map((n) => n.name)): Promise<string[]> {
  const holders: string[] = [];
  for (const name of names) {
    const addresses = await lab
      .node(name)
      .ip.listAddresses(LINK)
      .catch(() => []);
    if (addresses.some((a) => a.local === VIP)) holders.push(name);
  }
  return holders;
}

/** The node's own address on the cluster link (not the leader address), or undefined. */
export async function nodeAddressOf(node: LabNode): Promise<string | undefined> {
  const addresses = await node.ip.listAddresses(LINK).catch(() => []);
  return addresses.find((a) => a.family === 'inet' && a.local !== VIP && !a.local.startsWith('169.254.'))?.local;
}

/** Name of the temporary cluster link {@link dhcpAnswerVia} makes in a node that is not started. */
const PROBE_LINK = 'vxprobe';

/**
 * The DHCP server that answers on the cluster link (its server id), or undefined — asked from a
 * node that is NOT started, through a temporary VXLAN link on the cluster's VNI (its own MAC: a
 * real client, whose lease is released again; asking from a member would release the member's
 * own lease).
 */
export async function dhcpAnswerVia(node: LabNode): Promise<string | undefined> {
  await node.exec('ip', [
    'link',
    'add',
    PROBE_LINK,
    'type',
    'vxlan',
    'id',
    '200',
    'group',
    '239.1.1.200',
    'dev',
    'eth0',
    'dstport',
    '4790',
  ]);
  try {
    await node.exec('ip', ['link', 'set', PROBE_LINK, 'up']);
    const r = await node.exec('udhcpc', ['-f', '-q', '-n', '-R', '-i', PROBE_LINK, '-s', '/bin/true', '-t', '2', '-T', '1'], {
      reject: false,
      timeoutMs: 10_000,
    });
    return /obtained from (\d+\.\d+\.\d+\.\d+)/.exec(`${r.stdout}\n${r.stderr}`)?.[1];
  } finally {
    await node.exec('ip', ['link', 'del', PROBE_LINK], { reject: false });
  }
}

/** What one look at the cluster found, for assertions and failure messages. */
export interface ClusterView {
  vipHolders: string[];
  /** `docker node ls` on the first live manager: hostname → statuses (a duplicate shows as two). */
  swarm: { hostname: string; status: string; manager: string }[];
  /** `consul members` (alive) on a live node. */
  consulAlive: string[];
  /** Nodes whose `cluster-lab health` failed, with the FAIL lines. */
  unhealthy: { node: string; fails: string }[];
}

/** Looks at the cluster from the live nodes. */
export async function viewCluster(lab: Lab, live: readonly string[]): Promise<ClusterView> {
  const view: ClusterView = { vipHolders: await vipHolders(lab), swarm: [], consulAlive: [], unhealthy: [] };
  for (const n of live) {
    const ls = await labExec(n, ['docker', 'node', 'ls', '--format', '{{.Hostname}}|{{.Status}}|{{.ManagerStatus}}']);
    if (ls.code !== 0) continue;
    view.swarm = ls.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [hostname = '', status = '', manager = ''] = l.split('|');
        return { hostname, status, manager };
      });
    break;
  }
  for (const n of live) {
    // `status` asks the node's own agent with Cluster Lab's token (the Consul CLI has none with ACLs on).
    const members = (await nodeStatus(n).catch(() => undefined))?.consul as { members?: { name: string; status: string }[] } | undefined;
    if (!members?.members) continue;
    view.consulAlive = members.members
      .filter((m) => m.status === 'alive')
      .map((m) => m.name)
      .sort();
    break;
  }
  for (const n of live) {
    const health = await labExec(n, ['cluster-lab', 'health']);
    if (health.code !== 0)
      view.unhealthy.push({
        node: n,
        fails: health.stdout
          .split('\n')
          .filter((l) => l.startsWith('FAIL'))
          .join(' | '),
      });
  }
  return view;
}

/**
 * The end state every lifecycle scenario must reach: exactly one holder of the leader address
 * (a live node), one swarm holding every live node once (Ready, no duplicate entry, nothing
 * else), one Consul cluster with every live node alive, `health` PASS on every live node.
 */
export function converged(view: ClusterView, live: readonly string[]): boolean {
  const want = [...live].sort();
  const swarmHosts = view.swarm.map((s) => s.hostname).sort();
  return (
    view.vipHolders.length === 1 &&
    live.includes(view.vipHolders[0] as string) &&
    JSON.stringify(swarmHosts) === JSON.stringify(want) &&
    view.swarm.every((s) => s.status === 'Ready') &&
    JSON.stringify(view.consulAlive) === JSON.stringify(want) &&
    view.unhealthy.length === 0
  );
}

/** Waits until the cluster {@link converged}; throws with the last view otherwise. Returns the time it took (ms). */
export async function waitConverged(lab: Lab, live: readonly string[], timeoutMs = 120_000): Promise<number> {
  const started = Date.now();
  let last: ClusterView | undefined;
  try {
    await eventually(
      async () => {
        last = await viewCluster(lab, live);
        return converged(last, live);
      },
      timeoutMs,
      `one cluster of ${live.join(', ')}`,
    );
  } catch (error) {
    // What the unhealthy nodes' supervisors did is what explains a failure seen only in CI.
    const logs = await Promise.all(
      (last?.unhealthy ?? []).map(async (u) => `--- ${u.node} supervisor.log\n${await supervisorLog(lab.node(u.node), 25)}`),
    );
    throw new Error(`${(error as Error).message}; last view: ${JSON.stringify(last)}\n${logs.join('\n')}`);
  }
  return Date.now() - started;
}

/** The supervisor log of a node (for failure messages). */
export async function supervisorLog(node: LabNode, lines = 40): Promise<string> {
  const text = await readFile(join(node.dir, 'cluster-lab', 'supervisor', 'supervisor.log'), 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}
