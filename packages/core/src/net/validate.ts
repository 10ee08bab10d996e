import { ClusterLabError } from '../errors/cluster-lab-error.js';
import { isIpv4, parseCidr } from './ipv4.js';

/** Linux IFNAMSIZ is 16 including the trailing NUL. */
export const MAX_INTERFACE_NAME_LENGTH = 15;

/**
 * Why `name` is not a valid Linux interface name, or undefined when it is. Follows the kernel's
 * `dev_valid_name()` (no `/`, `:` or whitespace, at most 15 bytes, not `.`/`..`), restricted further
 * to printable ASCII so names survive config files, logs and `ip` argument parsing.
 */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_INTERFACE_NAME_LENGTH)
    return `is ${name.length} characters long; Linux allows at most ${MAX_INTERFACE_NAME_LENGTH}`;
  if (name === '.' || name === '..') return 'is a reserved name';
  // ':' is rejected by the kernel: `eth0:1` is an address label (an "alias" from ifconfig days)
  // on the link eth0, not a link of its own, so nothing can be built on it.
  const label = /^([A-Za-z0-9_.@-]+):[A-Za-z0-9_.@-]*$/.exec(name);
  if (label) return `is an address label (an alias address on "${label[1]}"), not a link; use "${label[1]}"`;
  // '/' is rejected by sysfs, whitespace by the kernel.
  if (!/^[A-Za-z0-9_.@-]+$/.test(name)) return 'may only contain letters, digits and . _ - @ (no "/", ":" or whitespace)';
  return undefined;
}

/** Why `id` is not a valid 802.1Q VLAN id, or undefined. */
export function vlanIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'number' || !Number.isInteger(id)) return 'must be a whole number';
  if (id < 1 || id > 4094) return 'must be between 1 and 4094 (0 and 4095 are reserved by 802.1Q)';
  return undefined;
}

/** Why `mac` is not a unicast `aa:bb:cc:dd:ee:ff` MAC address (as a NIC has), or undefined. */
export function macProblem(mac: string): string | undefined {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) return 'must look like aa:bb:cc:dd:ee:ff';
  if (/^(00:){5}00$/.test(mac)) return 'is the all-zero address, which no NIC has';
  // The I/G bit (lowest bit of the first octet) marks group addresses; a NIC's own MAC never has it.
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) return 'is a multicast/broadcast address, not the address of a NIC';
  return undefined;
}

/** Why `cidr` is not an IPv4 CIDR, or undefined. */
export function cidrProblem(cidr: string): string | undefined {
  return parseCidr(cidr) ? undefined : 'must be an IPv4 CIDR like 192.168.200.0/24';
}

/** Why `address` is not an IPv4 address, or undefined. */
export function ipv4Problem(address: string): string | undefined {
  return isIpv4(address) ? undefined : 'must be an IPv4 address like 192.168.200.1';
}

function invalid(what: string, value: unknown, problem: string, hint: string): ClusterLabError {
  return new ClusterLabError('INVALID_ARGUMENT', `${what} ${JSON.stringify(value)} ${problem}`, {
    hint,
    errorClass: 'usage',
  });
}

/** Throws a usage {@link ClusterLabError} unless `name` is a valid interface name. */
export function assertInterfaceName(name: string, what = 'interface name'): void {
  const problem = interfaceNameProblem(name);
  if (problem) throw invalid(what, name, problem, 'use a name like eth0, eth0.200 or vx200');
}

/** Throws unless `id` is a valid VLAN id. */
export function assertVlanId(id: unknown): void {
  const problem = vlanIdProblem(id);
  if (problem) throw invalid('VLAN id', id, problem, 'use a VLAN id such as 200');
}

/** Throws unless `mac` is a valid MAC address. */
export function assertMac(mac: string): void {
  const problem = macProblem(mac);
  if (problem) throw invalid('MAC address', mac, problem, 'write it as six hex pairs, e.g. 02:42:ac:11:00:02');
}

/** Throws unless `cidr` is a valid IPv4 CIDR. */
export function assertCidr(cidr: string): void {
  const problem = cidrProblem(cidr);
  if (problem) throw invalid('address', cidr, problem, 'write address/prefix, e.g. 192.168.200.1/24');
}

/** Throws unless `address` is a valid IPv4 address. */
export function assertIpv4(address: string): void {
  const problem = ipv4Problem(address);
  if (problem) throw invalid('address', address, problem, 'write a dotted IPv4 address, e.g. 192.168.200.1');
}

/** Why `name` is not a usable network namespace name (a file under /run/netns), or undefined. */
export function netnsNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 64) return `is ${name.length} characters long; use at most 64`;
  if (name === '.' || name === '..') return 'is a reserved name';
  // `ip -n` opens /run/netns/<name>: a "/" would reach outside that directory.
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return 'may only contain letters, digits and . _ - (no "/" or whitespace)';
  return undefined;
}

/** Throws a usage {@link ClusterLabError} unless `name` is a valid network namespace name. */
export function assertNetnsName(name: string): void {
  const problem = netnsNameProblem(name);
  if (problem) throw invalid('network namespace name', name, problem, 'use a name like node1');
}
