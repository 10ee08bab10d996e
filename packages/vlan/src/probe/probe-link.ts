import { CommandError, type CommandRunner, cidrContains, type Network, parseCidr } from '@cluster-lab/core';
import { BackendError } from '../backends/backend-error.js';
import type { BackendKind, NetworkBackend } from '../backends/network-backend.js';
import { validateCidr, validateInterfaceName, validateIpv4 } from '../backends/validate-backend-input.js';
import { VlanBackend } from '../backends/vlan.js';
import { VxlanBackend } from '../backends/vxlan.js';

/**
 * Default temporary probe addresses, from 198.18.0.0/15 (RFC 2544, reserved for network tests)
 * so they are unlikely to collide with a home LAN or the cluster subnet. The node that waits
 * (`listen`) takes .1, the node that pings (`send`) takes .2.
 */
export const DEFAULT_PROBE_ADDRESSES = { listen: '198.18.200.1/24', send: '198.18.200.2/24' } as const;

/** A node taking part in a probe: its network, a runner there, and its cluster link. */
export interface ProbeNode {
  network: Network;
  runner: CommandRunner;
  /** The cluster link, e.g. `eth0.200`, `vx200` (`backend.linkName`). */
  link: string;
}

/** A temporary address on a cluster link; {@link release} removes it again. */
export interface ProbeAddress extends AsyncDisposable {
  link: string;
  /** The CIDR as added, e.g. `198.18.200.1/24`. */
  cidr: string;
  /** The address part, e.g. `198.18.200.1`. */
  address: string;
  /** False when the address was already there; then release() leaves it in place. */
  added: boolean;
  /** Removes the address if this handle added it; safe to call twice. True when it removed it. */
  release(): Promise<boolean>;
}

/**
 * Puts a temporary test address on the cluster link (the seed README's manual "give both ends an
 * address" step). Refuses when the link is missing or down, or when the address or its subnet is
 * already used on another interface — so it never disturbs other links' addresses or routes.
 *
 * @example
 * ```ts
 * await using probe = await addProbeAddress({ network, link: 'vx200' }, '198.18.200.1/24');
 * // … the other node pings 198.18.200.1 …
 * ```
 */
export async function addProbeAddress(node: Pick<ProbeNode, 'network' | 'link'>, cidr: string): Promise<ProbeAddress> {
  const link = validateInterfaceName(node.link, 'cluster link');
  validateCidr(cidr, 'probe address');
  const parsed = parseCidr(cidr);
  if (!parsed) throw new TypeError(`unreachable: ${cidr} validated`);
  const { network } = node;
  const current = await network.getLink(link);
  if (!current) {
    throw new BackendError('PROBE_LINK_MISSING', `cluster link "${link}" does not exist`, {
      hint: 'bring the cluster link up first (`cluster-lab start`, or backend.ensure())',
      errorClass: 'runtime',
    });
  }
  if (!current.up) {
    throw new BackendError('PROBE_LINK_DOWN', `cluster link "${link}" is down`, {
      hint: `bring it up: \`ip link set dev ${link} up\``,
      errorClass: 'runtime',
    });
  }
  const addresses = await network.listAddresses();
  const elsewhere = addresses.find((a) => a.local === parsed.address && a.dev !== link);
  if (elsewhere) {
    throw new BackendError('PROBE_ADDRESS_IN_USE', `probe address ${parsed.address} is already on "${elsewhere.dev}"`, {
      hint: 'choose another probe subnet (e.g. 198.19.200.0/24)',
      errorClass: 'config',
    });
  }
  const subnet = `${parsed.network}/${parsed.prefix}`;
  const route = (await network.routes()).find((r) => r.dst === subnet && r.dev !== undefined && r.dev !== link);
  if (route) {
    throw new BackendError('PROBE_ADDRESS_IN_USE', `probe subnet ${subnet} is already routed via "${route.dev}"`, {
      hint: 'choose a probe subnet no other interface uses (e.g. 198.19.200.0/24)',
      errorClass: 'config',
    });
  }
  const added = await network.addAddress(link, cidr);
  let released = !added;
  const release = async (): Promise<boolean> => {
    if (released) return false;
    released = true;
    return network.delAddress(link, cidr);
  };
  return { link, cidr, address: parsed.address, added, release, [Symbol.asyncDispose]: async () => void (await release()) };
}

/** Options of {@link pingAddress}. */
export interface PingOptions {
  runner: CommandRunner;
  /** Target IPv4 address. */
  target: string;
  /** Send through this interface only (`ping -I`), so a reply proves this link works. */
  link?: string;
  /** Pings before giving up (each `-c1`); default 3, at least 1. */
  attempts?: number;
  /** Seconds to wait for each reply (`-W`, rounded up to whole seconds); default 1. */
  timeoutSeconds?: number;
}

/** Outcome of {@link pingAddress}. */
export interface PingResult {
  reachable: boolean;
  /** Pings sent (stops at the first reply). */
  attempts: number;
  /** Round-trip time of the reply, in ms. */
  rttMs?: number;
  /** Output of the last ping (stdout + stderr), for messages. */
  output: string;
}

/**
 * Pings `target` up to `attempts` times with `ping -n -c1 -W<s> [-I <link>] <target>`.
 * Throws `PING_NOT_FOUND` when `ping` is not installed.
 *
 * @example
 * ```ts
 * const { reachable, rttMs } = await pingAddress({ runner, link: 'vx200', target: '198.18.200.1' });
 * ```
 */
export async function pingAddress(options: PingOptions): Promise<PingResult> {
  const target = validateIpv4(options.target, 'ping target');
  // At least one ping, and whole seconds for `-W` (iputils rejects fractions on older builds).
  const attempts = Math.max(1, Math.floor(options.attempts ?? 3));
  const wait = Math.max(1, Math.ceil(options.timeoutSeconds ?? 1));
  const args = ['-n', '-c1', `-W${wait}`, ...(options.link ? ['-I', validateInterfaceName(options.link, 'cluster link')] : []), target];
  let output = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let exitCode: number;
    try {
      const result = await options.runner.run('ping', args, { reject: false, timeoutMs: wait * 1000 + 5000 });
      exitCode = result.exitCode;
      output = `${result.stdout}${result.stderr}`.trim();
    } catch (error) {
      if (error instanceof CommandError && error.notFound) {
        throw new BackendError('PING_NOT_FOUND', '`ping` is not installed', {
          hint: 'install it: `apt-get install iputils-ping`',
          errorClass: 'dependency',
          cause: error,
        });
      }
      throw error;
    }
    if (exitCode === 0) {
      const rtt = /time[=<]([\d.]+) ?ms/.exec(output);
      return rtt ? { reachable: true, attempts: attempt, rttMs: Number(rtt[1]), output } : { reachable: true, attempts: attempt, output };
    }
  }
  return { reachable: false, attempts, output };
}

/** Options of {@link probeLink}. */
export interface ProbeLinkOptions {
  /** This node: it gets `localAddress` and sends the pings. */
  local: ProbeNode;
  /**
   * The other node. Either handles to it (the lab, tests: it gets `peerAddress` too), or just the
   * address it already holds — on a real cluster the other machine runs
   * {@link addProbeAddress} itself (e.g. `cluster-lab probe --listen`).
   */
  peer: ProbeNode | { address: string };
  /** CIDR for this node; default {@link DEFAULT_PROBE_ADDRESSES}.send. */
  localAddress?: string;
  /** CIDR for the peer when it is a {@link ProbeNode}; default {@link DEFAULT_PROBE_ADDRESSES}.listen. */
  peerAddress?: string;
  /** The backend in use (or its kind), so a failure hint says what to try next. */
  backend?: NetworkBackend | BackendKind;
  /** See {@link PingOptions}. */
  attempts?: number;
  timeoutSeconds?: number;
}

/** Outcome of {@link probeLink}. */
export interface ProbeResult {
  reachable: boolean;
  /** The local cluster link the pings went through. */
  link: string;
  /** Local and peer probe addresses. */
  from: string;
  to: string;
  attempts: number;
  rttMs?: number;
  durationMs: number;
  /** One line: what happened. */
  detail: string;
  /** What to try when unreachable. */
  hint?: string;
}

/**
 * Checks that two nodes can talk over the cluster link — the seed README's manual "ping
 * 10.10.10.1 over the VLAN" test, automated: puts temporary addresses on both ends (or only
 * this end, when the peer prepared itself), pings through the cluster link, and removes the
 * temporary addresses again, also on failure. Unreachable is a result, not an error; errors are
 * for things the probe cannot do (missing link, address in use, no `ping`).
 *
 * @example
 * ```ts
 * const result = await probeLink({
 *   local: { network: n1.ip, runner: n1.runner, link: 'vx200' },
 *   peer: { network: n2.ip, runner: n2.runner, link: 'vx200' },
 *   backend: 'vxlan',
 * });
 * if (!result.reachable) console.error(result.detail, result.hint);
 * ```
 */
export async function probeLink(options: ProbeLinkOptions): Promise<ProbeResult> {
  const started = performance.now();
  const localCidr = validateCidr(options.localAddress ?? DEFAULT_PROBE_ADDRESSES.send, 'local probe address');
  const peerIsNode = 'network' in options.peer;
  const peerCidr = peerIsNode ? validateCidr(options.peerAddress ?? DEFAULT_PROBE_ADDRESSES.listen, 'peer probe address') : undefined;
  const target = peerIsNode
    ? ((peerCidr as string).split('/')[0] as string)
    : validateIpv4((options.peer as { address: string }).address, 'peer address');
  const local = parseCidr(localCidr);
  if (!local || !cidrContains(local, target) || local.address === target) {
    throw new BackendError(
      'INVALID_ADDRESS',
      `peer probe address ${target} must be another address in the local probe subnet ${localCidr}`,
      {
        hint: `use two addresses of one subnet, e.g. ${DEFAULT_PROBE_ADDRESSES.send} and ${DEFAULT_PROBE_ADDRESSES.listen}`,
        errorClass: 'config',
      },
    );
  }
  const handles: ProbeAddress[] = [];
  try {
    if (peerIsNode) handles.push(await addProbeAddress(options.peer as ProbeNode, peerCidr as string));
    handles.push(await addProbeAddress(options.local, localCidr));
    const ping = await pingAddress({
      runner: options.local.runner,
      target,
      link: options.local.link,
      ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
      ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
    });
    const result: ProbeResult = {
      reachable: ping.reachable,
      link: options.local.link,
      from: local.address,
      to: target,
      attempts: ping.attempts,
      durationMs: 0,
      detail: ping.reachable
        ? `${target} answered over ${options.local.link}${ping.rttMs === undefined ? '' : ` in ${ping.rttMs} ms`}`
        : `${target} did not answer over ${options.local.link} (${ping.attempts} ping${ping.attempts > 1 ? 's' : ''})`,
    };
    if (ping.rttMs !== undefined) result.rttMs = ping.rttMs;
    if (!ping.reachable) result.hint = unreachableHint(options.backend);
    result.durationMs = Math.round(performance.now() - started);
    return result;
  } finally {
    for (const handle of handles.reverse()) await handle.release();
  }
}

/** What to try when the peer does not answer, by backend. */
export function unreachableHint(backend: NetworkBackend | BackendKind | undefined): string {
  const kind = typeof backend === 'string' ? backend : backend?.kind;
  switch (kind) {
    case 'vlan': {
      const id = backend instanceof VlanBackend ? ` ${backend.id}` : '';
      return `the switch may drop 802.1Q-tagged frames: make the ports trunks carrying VLAN${id}, or set network.backend to vxlan (works over any switch)`;
    }
    case 'vxlan': {
      const port = backend instanceof VxlanBackend ? backend.port : 4790;
      const flooding =
        backend instanceof VxlanBackend && !backend.group
          ? 'check network.vxlan.peers lists every node'
          : 'if the network blocks multicast, list the nodes in network.vxlan.peers';
      return `check that UDP port ${port} passes between the nodes' uplinks and both run the same VNI; ${flooding}`;
    }
    case 'native':
      return 'check the cable and that both NICs are on the same switch/untagged VLAN; a VLAN-tagged port needs network.backend vlan';
    default:
      return 'check that both nodes run the same backend settings and are on the same switch';
  }
}
