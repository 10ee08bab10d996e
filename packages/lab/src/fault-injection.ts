import { readdir, readFile, stat } from 'node:fs/promises';
import { type CommandRunner, describeError, isProcessAlive } from '@cluster-lab/core';
import { CGROUP_ROOT, type DockerdFlags, dockerdPaths, startDockerd } from './dockerd.js';
import { ipBatch, linkUp } from './ip-batch.js';
import type { LabNode } from './lab-node.js';
import { NETNS_DIR } from './lab-paths.js';
import type { LabState } from './lab-state.js';

/** How long a process killed by {@link powerOffNode} may take to disappear. */
export const POWER_OFF_WAIT_MS = 10_000;
/** Prefix of the extra bridges a {@link partitionLab} creates in the switch namespace (group 1 → `pb1`, `pc1`). */
export const PARTITION_BRIDGE_PREFIX = { lan: 'pb', cluster: 'pc' } as const;

/** What fault injection needs of a lab: its state (switch namespace, dockerds) and its nodes. */
export interface FaultLab {
  readonly state: LabState;
  readonly nodes: readonly LabNode[];
  readonly switchNetns: string;
}

/**
 * The switch-side ports of a node: the LAN port (`e<i>`) and, when the lab has a cluster
 * switch, the cluster port (`c<i>`). These are the veth ends inside the switch namespace — a
 * cable's switch end.
 */
export function switchPortsOf(lab: FaultLab, node: LabNode): string[] {
  if (node.switchPorts) return [...node.switchPorts];
  const index = lab.nodes.indexOf(node) + 1;
  if (index === 0) throw new RangeError(`${node.name} is not a node of lab "${lab.state.id}"`);
  return [`e${index}`, ...(node.clusterNicMac ? [`c${index}`] : [])];
}

/**
 * Pulls a node's cables: its switch ports (LAN and cluster switch) go down, so the node's NICs
 * lose carrier and nothing passes either way. The node itself is untouched.
 * Equivalent to `ip -n <switch> link set dev <port> down` for each port.
 */
export async function unplugNode(runner: CommandRunner, lab: FaultLab, node: LabNode): Promise<void> {
  await ipBatch(
    runner,
    switchPortsOf(lab, node).map((port) => ['link', 'set', 'dev', port, 'down']),
    { netns: lab.switchNetns },
  );
}

/** Plugs a node's cables back in (`link set dev <port> up`). */
export async function plugNode(runner: CommandRunner, lab: FaultLab, node: LabNode): Promise<void> {
  await ipBatch(
    runner,
    switchPortsOf(lab, node).map((port) => linkUp(port)),
    { netns: lab.switchNetns },
  );
}

/**
 * Powers a node off: the cable is pulled, every process of the node is killed with SIGKILL at
 * once (no shutdown of any kind: dockerd, containerd, the Consul agent, dnsmasq, the supervisor,
 * containers) — found by network namespace and by the node's dockerd cgroup, never outside the
 * lab — and what a reboot loses is lost: every link `cluster-lab` or dockerd created in the node
 * is deleted and the NICs keep only the lab's own LAN address. The node's files (its disk: state
 * dir, journal, Docker data) and namespaces stay, so {@link powerOnNode} boots it again.
 * Returns the pids killed.
 */
export async function powerOffNode(runner: CommandRunner, lab: FaultLab, node: LabNode): Promise<number[]> {
  await unplugNode(runner, lab, node);
  const dockerd = lab.state.dockerds.find((d) => d.node === node.name);
  const pids = new Set([...(await netnsPids(node.netns)), ...(dockerd ? await cgroupPids(dockerd.cgroupParent) : [])]);
  pids.delete(process.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      pids.delete(pid); // already gone
    }
  }
  const deadline = Date.now() + POWER_OFF_WAIT_MS;
  for (const pid of pids) while ((await isProcessAlive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await resetNodeNetwork(runner, node);
  return [...pids];
}

/**
 * Powers a node back on: the cable goes back in and, in a lab with docker, its dockerd starts
 * again (as systemd would at boot; leftovers of the killed one are cleared first). Nothing
 * else starts: run `cluster-lab start` in the node as its boot would.
 */
export async function powerOnNode(runner: CommandRunner, lab: FaultLab, node: LabNode, flags: DockerdFlags = {}): Promise<void> {
  await plugNode(runner, lab, node);
  if (lab.state.options?.docker && node.dockerSocket)
    await startDockerd(node.runner, dockerdPaths(node.dir, lab.state.id, node.name), flags);
}

/**
 * Splits the lab's switch: each group of nodes after the first gets its own LAN (and cluster)
 * bridge in the switch namespace and its nodes' ports move there; nodes not named stay on the
 * main bridges with the router. Frames never cross groups; the nodes see no link change.
 * {@link healLab} undoes it. Calling it again re-partitions from scratch.
 */
export async function partitionLab(runner: CommandRunner, lab: FaultLab, groups: readonly (readonly LabNode[])[]): Promise<void> {
  await healLab(runner, lab);
  const commands: string[][] = [];
  const clusterSwitch = Boolean(lab.state.options?.clusterNic);
  groups.forEach((group, i) => {
    if (i === 0) return;
    const lan = `${PARTITION_BRIDGE_PREFIX.lan}${i}`;
    const cluster = `${PARTITION_BRIDGE_PREFIX.cluster}${i}`;
    commands.push(['link', 'add', lan, 'type', 'bridge'], linkUp(lan));
    if (clusterSwitch) commands.push(['link', 'add', cluster, 'type', 'bridge'], linkUp(cluster));
    for (const node of group) {
      const [lanPort, clusterPort] = switchPortsOf(lab, node);
      if (lanPort) commands.push(['link', 'set', 'dev', lanPort, 'master', lan]);
      if (clusterPort) commands.push(['link', 'set', 'dev', clusterPort, 'master', cluster]);
    }
  });
  if (commands.length) await ipBatch(runner, commands, { netns: lab.switchNetns });
}

/** Joins the switch again: every node port back on the main bridges, the partition bridges deleted. Safe without a partition. */
export async function healLab(runner: CommandRunner, lab: FaultLab): Promise<void> {
  const commands: string[][] = [];
  for (const node of lab.nodes) {
    const [lanPort, clusterPort] = switchPortsOf(lab, node);
    if (lanPort) commands.push(['link', 'set', 'dev', lanPort, 'master', 'br0']);
    if (clusterPort) commands.push(['link', 'set', 'dev', clusterPort, 'master', 'br1']);
  }
  const bridges = (
    await runner.run('ip', ['-n', lab.switchNetns, '-j', 'link', 'show', 'type', 'bridge'], { reject: false, timeoutMs: 10_000 })
  ).stdout;
  for (const name of bridgeNames(bridges)) {
    if (name.startsWith(PARTITION_BRIDGE_PREFIX.lan) || name.startsWith(PARTITION_BRIDGE_PREFIX.cluster))
      commands.push(['link', 'del', name]);
  }
  await ipBatch(runner, commands, { netns: lab.switchNetns });
}

function bridgeNames(json: string): string[] {
  const names: string[] = [];
  for (const line of json.split('\n')) {
    try {
      for (const link of JSON.parse(line) as { ifname?: string }[]) if (link.ifname) names.push(link.ifname);
    } catch {
      // not a JSON line
    }
  }
  return names;
}

/** What a reboot loses: links created in the node (everything but lo and the NICs), addresses other than the lab's LAN address. */
async function resetNodeNetwork(runner: CommandRunner, node: LabNode): Promise<void> {
  const commands: string[][] = [];
  for (const link of await node.ip.listLinks()) {
    if (['lo', 'eth0', 'eth1'].includes(link.name)) continue;
    commands.push(['link', 'del', link.name]);
  }
  for (const address of await node.ip.listAddresses()) {
    if (!['eth0', 'eth1'].includes(address.dev) || address.family !== 'inet') continue;
    if (address.dev === 'eth0' && address.local === node.lanAddress) continue;
    commands.push(['address', 'del', address.cidr, 'dev', address.dev]);
  }
  if (commands.length === 0) return;
  await ipBatch(runner, commands, { netns: node.netns, force: true, reject: false }).catch((error: unknown) => {
    throw new Error(`resetting ${node.name}'s network after power-off failed: ${describeError(error)}`);
  });
}

/** Pids of every process whose network namespace is `netns` (device + inode of the namespace file). */
export async function netnsPids(netns: string, netnsDir = NETNS_DIR): Promise<number[]> {
  const info = await stat(`${netnsDir}/${netns}`).catch(() => undefined);
  if (!info) return [];
  const own = await stat('/proc/self/ns/net');
  const id = `${info.dev}:${info.ino}`;
  if (id === `${own.dev}:${own.ino}`) return [];
  const pids: number[] = [];
  const candidates = (await readdir('/proc')).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  await Promise.all(
    candidates.map(async (pid) => {
      const ns = await stat(`/proc/${pid}/ns/net`).catch(() => undefined);
      if (ns && `${ns.dev}:${ns.ino}` === id) pids.push(Number(pid));
    }),
  );
  return pids;
}

/** Pids in the cgroup `parent` and below, in every hierarchy (containers of a node's dockerd run in their own namespaces). */
export async function cgroupPids(parent: string, root = CGROUP_ROOT): Promise<number[]> {
  const pids = new Set<number>();
  const walk = async (dir: string): Promise<void> => {
    const text = await readFile(`${dir}/cgroup.procs`, 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (/^\d+$/.test(line)) pids.add(Number(line));
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => walk(`${dir}/${e.name}`)));
  };
  // cgroup v2 has one hierarchy at the root; v1 has one directory per controller.
  await walk(`${root}${parent}`);
  const hierarchies = await readdir(root, { withFileTypes: true }).catch(() => []);
  await Promise.all(hierarchies.filter((h) => h.isDirectory()).map((h) => walk(`${root}/${h.name}${parent}`)));
  return [...pids];
}
