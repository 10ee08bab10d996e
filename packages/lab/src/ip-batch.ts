import { assertCidr, assertInterfaceName, assertMac, type CommandResult, type CommandRunner } from '@cluster-lab/core';

/**
 * Runs many `ip` commands in one process: `ip [-n <netns>] [-force] -batch -`, one command per
 * line on stdin. The lab builds and removes its namespaces this way because on a busy 2-core
 * machine process start-up, not the kernel, dominates: a 10-node lab is ~20 processes instead
 * of ~100. Arguments must not contain whitespace (every name here is validated first).
 *
 * @example
 * ```ts
 * await ipBatch(runner, [['link', 'add', 'br0', 'type', 'bridge'], ['link', 'set', 'dev', 'br0', 'up']], { netns: 'cl-x-sw' });
 * // runs: ip -n cl-x-sw -batch -   with stdin "link add br0 type bridge\nlink set dev br0 up\n"
 * ```
 */
export async function ipBatch(
  runner: CommandRunner,
  commands: readonly (readonly string[])[],
  options: { netns?: string; force?: boolean; reject?: boolean } = {},
): Promise<CommandResult> {
  for (const args of commands) {
    for (const arg of args) {
      if (arg === '' || /\s/.test(arg)) throw new TypeError(`ip batch argument ${JSON.stringify(arg)} is empty or contains whitespace`);
    }
  }
  const input = commands.map((args) => `${args.join(' ')}\n`).join('');
  return runner.run('ip', [...(options.netns ? ['-n', options.netns] : []), ...(options.force ? ['-force'] : []), '-batch', '-'], {
    input,
    timeoutMs: 30_000,
    reject: options.reject ?? true,
  });
}

/** `link add <port> type veth peer name <ifname> address <mac> netns <netns>`: the peer is born inside the node with its final name and MAC. */
export function vethIntoNetns(port: string, ifname: string, mac: string, netns: string): string[] {
  assertInterfaceName(port, 'switch port name');
  assertInterfaceName(ifname);
  assertMac(mac);
  return ['link', 'add', port, 'type', 'veth', 'peer', 'name', ifname, 'address', mac, 'netns', netns];
}

/** `link set dev <name> [master <bridge>] up` */
export function linkUp(name: string, master?: string): string[] {
  assertInterfaceName(name);
  if (master !== undefined) assertInterfaceName(master, 'bridge name');
  return ['link', 'set', 'dev', name, ...(master ? ['master', master] : []), 'up'];
}

/** `address add <cidr> dev <dev>` */
export function addressAdd(cidr: string, dev: string): string[] {
  assertCidr(cidr);
  assertInterfaceName(dev);
  return ['address', 'add', cidr, 'dev', dev];
}
