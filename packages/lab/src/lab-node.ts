import {
  ClusterLabError,
  type CommandResult,
  type CommandRunner,
  IpRoute2,
  PrefixedRunner,
  type RunOptions,
  type SpawnedProcess,
  type SpawnOptions,
} from '@cluster-lab/core';
import Docker from 'dockerode';
import { NETNS_DIR } from './lab-paths.js';

/** What a {@link LabNode} is made from. */
export interface LabNodeInit {
  name: string;
  hostname: string;
  netns: string;
  /** Persistent UTS namespace file (a bind mount made by `unshare --uts=<file>`). */
  utsFile: string;
  /** The node's own directory inside the lab state dir. */
  dir: string;
  mac: string;
  lanAddress?: string;
  clusterNicMac?: string;
  dockerSocket?: string;
  /** The node's switch-side ports (veth ends in the switch namespace): LAN first, then the cluster switch. */
  switchPorts?: string[];
}

/**
 * The runner prefix that puts a command inside a node: its network and UTS namespaces.
 * `nsenter` rather than `ip netns exec`, because the latter remounts /sys, which breaks dockerd
 * ("Devices cgroup isn't mounted").
 */
export function nodePrefix(netns: string, utsFile: string): [string, ...string[]] {
  return ['nsenter', `--net=${NETNS_DIR}/${netns}`, `--uts=${utsFile}`, '--'];
}

/**
 * One "machine" of a lab: a network namespace with `eth0` on the lab switch, its own hostname
 * (UTS namespace) and, when the lab has docker, its own dockerd.
 *
 * @example
 * ```ts
 * const n1 = lab.nodes[0];
 * await n1.exec('hostname', []);                 // stdout 'node1\n'
 * const dnsmasq = new DnsmasqServer({ runner: n1.runner });
 * await n1.ip.addAddress('eth0', '192.168.200.1/24');
 * ```
 */
export class LabNode {
  /** `node1` … `nodeN` (or `router`). */
  readonly name: string;
  /** The node's UTS hostname (same as {@link name}). */
  readonly hostname: string;
  /** Unique network namespace name, usable with `ip -n` and `nsenter --net=/run/netns/<netns>`. */
  readonly netns: string;
  /** Persistent UTS namespace file; `nsenter --uts=<file>` gives the node's hostname. */
  readonly utsFile: string;
  /** The node's directory inside the lab's state dir (dockerd data, sockets, logs). */
  readonly dir: string;
  /** MAC address of `eth0`. */
  readonly mac: string;
  /** Static address of `eth0` in the lab LAN (`lab.lan.subnet`), when the lab has one. */
  readonly lanAddress: string | undefined;
  /** MAC address of `eth1` (the cluster switch NIC), when the lab has `clusterNic`. */
  readonly clusterNicMac: string | undefined;
  /** dockerd socket path, when the lab runs docker. */
  readonly dockerSocket: string | undefined;
  /** Switch-side ports of the node's cables (LAN, then cluster switch); undefined for labs recorded before they were. */
  readonly switchPorts: readonly string[] | undefined;
  /** `DOCKER_HOST` value for this node's dockerd (`unix://<dockerSocket>`), when the lab runs docker. */
  get dockerHost(): string | undefined {
    return this.dockerSocket === undefined ? undefined : `unix://${this.dockerSocket}`;
  }
  /** Runs every command inside the node: `nsenter --net=… --uts=… -- <cmd>`. */
  readonly runner: CommandRunner;
  /** iproute2 acting in the node's namespace (`ip -n <netns> …`). */
  readonly ip: IpRoute2;
  private client: Docker | undefined;

  constructor(hostRunner: CommandRunner, init: LabNodeInit) {
    this.name = init.name;
    this.hostname = init.hostname;
    this.netns = init.netns;
    this.utsFile = init.utsFile;
    this.dir = init.dir;
    this.mac = init.mac;
    this.lanAddress = init.lanAddress;
    this.clusterNicMac = init.clusterNicMac;
    this.dockerSocket = init.dockerSocket;
    this.switchPorts = init.switchPorts;
    this.runner = new PrefixedRunner(hostRunner, nodePrefix(init.netns, init.utsFile));
    this.ip = new IpRoute2(hostRunner, init.netns);
  }

  /** Runs a command inside the node and waits for it (same as `node.runner.run`). */
  exec(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
    return this.runner.run(file, args, options);
  }

  /** Starts a long-running command inside the node (same as `node.runner.spawn`). */
  spawn(file: string, args: readonly string[], options?: SpawnOptions): Promise<SpawnedProcess> {
    return this.runner.spawn(file, args, options);
  }

  /**
   * A dockerode client for this node's dockerd. Throws `LAB_NO_DOCKER` when the lab was created
   * without `docker: true`.
   */
  docker(): Docker {
    if (this.dockerSocket === undefined) {
      throw new ClusterLabError('LAB_NO_DOCKER', `lab node "${this.name}" has no dockerd`, {
        hint: 'create the lab with `docker: true`',
        errorClass: 'usage',
      });
    }
    this.client ??= new Docker({ socketPath: this.dockerSocket });
    return this.client;
  }
}
