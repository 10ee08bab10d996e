import { randomInt } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import {
  ClusterLabError,
  type CommandRunner,
  describeError,
  ExecaRunner,
  generateSecret,
  isClusterLabError,
  writeSecretFile,
} from '@cluster-lab/core';
import { importBusyboxImage } from './busybox-image.js';
import { destroyLabState } from './destroy-lab.js';
import { type DockerdPaths, dockerdPaths, startDockerd } from './dockerd.js';
import { addressAdd, ipBatch, linkUp, vethIntoNetns } from './ip-batch.js';
import { type Lab, labFromState } from './lab.js';
import type { LabNodeInit } from './lab-node.js';
import { assertLabName, LAB_STATE_ROOT, labNames, labSecretFile } from './lab-paths.js';
import { currentOwner, type LabState, writeLabState } from './lab-state.js';

/** Options of {@link createLab}. */
export interface LabOptions {
  /** Prefix of every name the lab creates; a random suffix is added, so parallel labs never collide. */
  name: string;
  /** Number of nodes, `node1` … `nodeN` (1–200). */
  nodes: number;
  /** Start one dockerd per node (own data-root, exec-root, socket, pid file) and wait until all answer. */
  docker?: boolean;
  /** Give each `eth0` a static address in a per-lab /24 (`.11`, `.12`, …). Default true. */
  lan?: boolean;
  /** Add a `router` namespace on the LAN switch holding the LAN's `.1` (needs `lan`). */
  router?: boolean;
  /** Give each node `eth1` on a second, separate "cluster switch" bridge. */
  clusterNic?: boolean;
  /** Import the busybox-static image `cluster-lab/busybox:latest` into every node (needs `docker`). */
  image?: boolean;
  /** Runs `ip`, `unshare`, `nsenter`, `dockerd`… Default: a new {@link ExecaRunner}. */
  runner?: CommandRunner;
  /** Directory holding the lab state dirs. Default {@link LAB_STATE_ROOT}. */
  stateRoot?: string;
  /** How long to wait for each dockerd. Default 30 s. */
  dockerdTimeoutMs?: number;
  /** Let dockerd manage iptables and its default bridge inside each node (off by default). */
  dockerIptables?: boolean;
  /** Extra dockerd arguments for every node. */
  dockerdArgs?: readonly string[];
  /**
   * The lab outlives the creating process (`cluster-lab lab up`): no owner is recorded, so
   * {@link cleanupStale} never removes it; remove it with {@link destroyLab}. While being created
   * it is owned as usual, so a crash half-way is still cleaned up.
   */
  persistent?: boolean;
  /** Fixed id suffix instead of a random one (tests). */
  suffix?: string;
}

/** Bridge in the switch namespace that every `eth0` (and the router) is plugged into. */
export const LAN_BRIDGE = 'br0';
/** Bridge in the switch namespace for the nodes' `eth1` when `clusterNic` is set. */
export const CLUSTER_BRIDGE = 'br1';
/** Host part of node1's LAN address; node i gets `FIRST_NODE_HOST + i - 1`. */
export const FIRST_NODE_HOST = 11;
const MAX_NODES = 200;
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** What createLab plans for one node or the router before creating it. */
export interface LabMemberPlan {
  name: string;
  netns: string;
  dir: string;
  utsFile: string;
  /** Switch-side veth names (inside the switch namespace only, so they never collide across labs). */
  lanPort: string;
  clusterPort: string | undefined;
  lanAddress: string | undefined;
  dockerd: DockerdPaths | undefined;
}

/**
 * Builds a throwaway cluster of `nodes` "machines" on this host: a switch namespace with a
 * bridge, and per node a network namespace with `eth0` on that bridge and its own hostname
 * (UTS namespace); optionally a dockerd per node, a home-router stand-in and a second
 * "cluster switch". Everything is listed in a state file first, so a failure half-way, a
 * `destroy()` or a later {@link cleanupStale} removes exactly it. Needs root.
 *
 * @example
 * ```ts
 * await using lab = await createLab({ name: 'demo', nodes: 3, docker: true, image: true });
 * const [n1, n2] = lab.nodes;
 * await n1.exec('ping', ['-c1', '-W1', n2.lanAddress!]);
 * await n2.docker().listContainers();
 * ```
 */
export async function createLab(options: LabOptions): Promise<Lab> {
  validate(options);
  const runner = options.runner ?? new ExecaRunner();
  const lan = options.lan ?? true;
  const stateRoot = options.stateRoot ?? LAB_STATE_ROOT;
  await mkdir(stateRoot, { recursive: true });
  const { names, state } = await reserveStateDir(options, stateRoot);
  state.options = {
    docker: Boolean(options.docker),
    lan,
    router: Boolean(options.router),
    clusterNic: Boolean(options.clusterNic),
    image: Boolean(options.image),
  };
  const subnet = lan ? pickSubnet() : undefined;
  const macPrefix = pickMacPrefix();
  let members: LabMemberPlan[];
  let router: LabMemberPlan | undefined;
  try {
    members = [];
    for (let i = 1; i <= options.nodes; i++) {
      const clusterPort = options.clusterNic ? `c${i}` : undefined;
      members.push(member(`node${i}`, names.nodeNetns(i), state, `e${i}`, clusterPort, subnet, FIRST_NODE_HOST + i - 1, options.docker));
    }
    router = options.router ? member('router', names.routerNetns, state, 'r0', undefined, subnet, 1, false) : undefined;
  } catch (error) {
    // Nothing exists yet but the empty state dir (e.g. a socket path turned out too long).
    await rm(state.stateDir, { recursive: true, force: true });
    throw error;
  }
  const all = router ? [...members, router] : members;
  state.netns = [names.switchNetns, ...all.map((m) => m.netns)];
  state.utsFiles = all.map((m) => m.utsFile);
  state.dockerds = members.flatMap((m) => (m.dockerd ? [m.dockerd] : []));
  // The plan is on disk before anything exists: a crash at any later point is cleanable.
  await writeLabState(state);
  // One cluster secret per lab, like one per real cluster: every node's config names this file.
  // It lives in the lab's state dir (mode 0600), so destroying the lab removes it.
  await writeSecretFile(labSecretFile(state.stateDir), generateSecret());

  try {
    await ipBatch(
      runner,
      state.netns.map((ns) => ['netns', 'add', ns]),
    );
    const macs = all.map((m, i) => ({ eth0: labMac(macPrefix, 0, i), eth1: m.clusterPort ? labMac(macPrefix, 1, i) : undefined }));
    await Promise.all([
      ...all.map((m) => hostname(runner, m)),
      (async () => {
        // Switch side in one batch; veths are created inside the switch namespace with the peer
        // born in the node as `eth0`: no name ever appears in the host namespace, so parallel
        // labs cannot collide.
        await ipBatch(runner, switchCommands(all, macs, Boolean(options.clusterNic)), { netns: names.switchNetns });
        await Promise.all(all.map((m) => ipBatch(runner, nodeCommands(m), { netns: m.netns })));
      })(),
    ]);
    const inits = all.map(
      (m, i): LabNodeInit => ({
        name: m.name,
        hostname: m.name,
        netns: m.netns,
        utsFile: m.utsFile,
        dir: m.dir,
        mac: macs[i]?.eth0 ?? '',
        ...(m.lanAddress ? { lanAddress: m.lanAddress } : {}),
        ...(macs[i]?.eth1 ? { clusterNicMac: macs[i]?.eth1 } : {}),
        ...(m.dockerd ? { dockerSocket: m.dockerd.socket } : {}),
      }),
    );
    state.topology = {
      switchNetns: names.switchNetns,
      nodes: inits.slice(0, members.length),
      ...(router ? { router: inits[members.length] as LabNodeInit } : {}),
      ...(subnet ? { lan: { subnet: `${subnet}.0/24`, prefixLength: 24, routerAddress: `${subnet}.1` } } : {}),
    };
    const lab = labFromState(runner, state);
    const nodes = lab.nodes;

    if (options.docker) {
      await Promise.all(
        members.map((m) =>
          startDockerd(lab.node(m.name).runner, m.dockerd as DockerdPaths, {
            ...(options.dockerdTimeoutMs !== undefined ? { timeoutMs: options.dockerdTimeoutMs } : {}),
            ...(options.dockerIptables !== undefined ? { iptables: options.dockerIptables } : {}),
            ...(options.dockerdArgs ? { extraArgs: options.dockerdArgs } : {}),
          }),
        ),
      );
      if (options.image) await importBusyboxImage(runner, nodes);
    }
    // A persistent lab outlives this process: without an owner, cleanupStale leaves it alone.
    if (options.persistent) state.owner = null;
    await writeLabState(state);
    return lab;
  } catch (error) {
    await destroyLabState(runner, state).catch(() => undefined);
    // Our own errors already say what failed; anything else (a failed `ip`…) gets the lab's name.
    if (isClusterLabError(error) && error.code.startsWith('LAB_')) throw error;
    throw new ClusterLabError('LAB_CREATE_FAILED', `creating lab "${state.id}" failed: ${describeError(error)}`, {
      hint: 'the lab needs root and iproute2/util-linux (`ip`, `unshare`, `nsenter`); everything created so far was removed',
      cause: error,
    });
  }
}

function validate(options: LabOptions): void {
  assertLabName(options.name);
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > MAX_NODES) {
    throw new ClusterLabError('LAB_BAD_NODES', `nodes must be a whole number from 1 to ${MAX_NODES}, got ${options.nodes}`, {
      hint: 'pass e.g. `nodes: 3`',
      errorClass: 'usage',
    });
  }
  if (options.router && options.lan === false) {
    throw new ClusterLabError('LAB_BAD_OPTIONS', 'router: true needs lan: true (the router holds the LAN address .1)', {
      hint: 'drop `lan: false` or `router: true`',
      errorClass: 'usage',
    });
  }
  if (options.image && !options.docker) {
    throw new ClusterLabError('LAB_BAD_OPTIONS', 'image: true needs docker: true (images are imported into each node dockerd)', {
      hint: 'add `docker: true`',
      errorClass: 'usage',
    });
  }
}

async function reserveStateDir(options: LabOptions, stateRoot: string): Promise<{ names: ReturnType<typeof labNames>; state: LabState }> {
  const owner = await currentOwner();
  for (let attempt = 0; ; attempt++) {
    const id = `${options.name}-${options.suffix ?? randomSuffix()}`;
    const names = labNames(id, stateRoot);
    try {
      // mkdir without `recursive` fails when the dir exists: the id is ours alone.
      await mkdir(names.stateDir, { mode: 0o755 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && options.suffix === undefined && attempt < 5) continue;
      throw error;
    }
    const state: LabState = {
      version: 1,
      id,
      name: options.name,
      owner,
      createdAt: new Date().toISOString(),
      stateDir: names.stateDir,
      netns: [],
      utsFiles: [],
      dockerds: [],
    };
    return { names, state };
  }
}

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return s;
}

/** A random `10.X.Y` prefix: separate labs get separate LANs, which keeps captured traffic unambiguous. */
function pickSubnet(): string {
  return `10.${100 + randomInt(100)}.${randomInt(256)}`;
}

function member(
  name: string,
  netns: string,
  state: LabState,
  lanPort: string,
  clusterPort: string | undefined,
  subnet: string | undefined,
  host: number,
  docker: boolean | undefined,
): LabMemberPlan {
  const dir = `${state.stateDir}/${name}`;
  return {
    name,
    netns,
    dir,
    utsFile: `${dir}/uts`,
    lanPort,
    clusterPort,
    lanAddress: subnet ? `${subnet}.${host}` : undefined,
    dockerd: docker ? dockerdPaths(dir, state.id, name) : undefined,
  };
}

/** Switch-namespace commands: the bridge(s), then per member a veth whose peer is born in the member's namespace, enslaved and up. */
export function switchCommands(
  all: readonly LabMemberPlan[],
  macs: readonly { eth0: string; eth1?: string | undefined }[],
  clusterNic: boolean,
): string[][] {
  const bridges = clusterNic ? [LAN_BRIDGE, CLUSTER_BRIDGE] : [LAN_BRIDGE];
  const commands = bridges.flatMap((br) => [['link', 'add', br, 'type', 'bridge'], linkUp(br)]);
  all.forEach((m, i) => {
    const mac = macs[i];
    if (!mac) return;
    commands.push(vethIntoNetns(m.lanPort, 'eth0', mac.eth0, m.netns), linkUp(m.lanPort, LAN_BRIDGE));
    if (m.clusterPort && mac.eth1)
      commands.push(vethIntoNetns(m.clusterPort, 'eth1', mac.eth1, m.netns), linkUp(m.clusterPort, CLUSTER_BRIDGE));
  });
  return commands;
}

/** Commands inside one member's namespace: loopback and NICs up, the LAN address on `eth0`. */
export function nodeCommands(m: LabMemberPlan): string[][] {
  return [
    linkUp('lo'),
    linkUp('eth0'),
    ...(m.lanAddress ? [addressAdd(`${m.lanAddress}/24`, 'eth0')] : []),
    ...(m.clusterPort ? [linkUp('eth1')] : []),
  ];
}

/** Locally administered unicast MACs `02:xx:xx:xx:<nic>:<member>`; the random middle differs per lab. */
function labMac(prefix: string, nic: number, member: number): string {
  return `${prefix}:${hex(nic)}:${hex(member + 1)}`;
}

function pickMacPrefix(): string {
  return `02:${hex(randomInt(256))}:${hex(randomInt(256))}:${hex(randomInt(256))}`;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** A persistent UTS namespace bound to `m.utsFile`, with the member's hostname set inside it. */
async function hostname(runner: CommandRunner, m: LabMemberPlan): Promise<void> {
  await mkdir(m.dir, { recursive: true });
  await writeFile(m.utsFile, '');
  await runner.run('unshare', [`--uts=${m.utsFile}`, 'hostname', m.name], { timeoutMs: 10_000 });
}
