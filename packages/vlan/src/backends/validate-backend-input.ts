import { cidrProblem, interfaceNameProblem, ipv4Problem, isIpv4, vlanIdProblem } from '@cluster-lab/core';
import { BackendError } from './backend-error.js';

/** The UDP port Docker Swarm's overlay data path uses; the cluster VXLAN must not share it. */
export const SWARM_VXLAN_PORT = 4789;

/** Largest VXLAN network identifier (24 bits). */
export const MAX_VNI = 16_777_215;

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * Throws `INVALID_INTERFACE_NAME` unless `name` is a usable Linux interface name (≤ 15
 * characters, no `/` or whitespace). `field` names the setting in the message.
 *
 * @example
 * ```ts
 * validateInterfaceName('eth0.200', 'VLAN link name'); // fine
 * validateInterfaceName('my link', 'VLAN link name'); // throws INVALID_INTERFACE_NAME
 * ```
 */
export function validateInterfaceName(name: unknown, field: string): string {
  const problem = typeof name === 'string' ? interfaceNameProblem(name) : 'must be a string';
  if (problem) {
    throw new BackendError('INVALID_INTERFACE_NAME', `${field} ${show(name)} ${problem}`, {
      hint: 'use a name like eth0, eth0.200 or vx200 (at most 15 letters, digits, . _ -)',
      errorClass: 'config',
    });
  }
  return name as string;
}

/** Throws `INVALID_VLAN_ID` unless `id` is a whole number 1–4094. */
export function validateVlanId(id: unknown): number {
  const problem = vlanIdProblem(id);
  if (problem) {
    throw new BackendError('INVALID_VLAN_ID', `VLAN id ${show(id)} ${problem}`, {
      hint: 'set network.vlanId to a number between 1 and 4094, e.g. 200',
      errorClass: 'config',
    });
  }
  return id as number;
}

/** Throws `INVALID_VNI` unless `vni` is a whole number 1–16777215. */
export function validateVni(vni: unknown): number {
  if (typeof vni !== 'number' || !Number.isInteger(vni) || vni < 1 || vni > MAX_VNI) {
    throw new BackendError('INVALID_VNI', `VXLAN VNI ${show(vni)} must be a whole number between 1 and ${MAX_VNI}`, {
      hint: 'set network.vxlan.vni, e.g. 200',
      errorClass: 'config',
    });
  }
  return vni;
}

/** Throws `INVALID_PORT` for a non-port, `VXLAN_PORT_RESERVED` for Swarm's 4789. */
export function validateVxlanPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BackendError('INVALID_PORT', `VXLAN UDP port ${show(port)} must be a whole number between 1 and 65535`, {
      hint: 'leave network.vxlan.port at its default 4790',
      errorClass: 'config',
    });
  }
  if (port === SWARM_VXLAN_PORT) {
    throw new BackendError('VXLAN_PORT_RESERVED', `VXLAN UDP port ${port} collides with Docker Swarm's overlay data path`, {
      hint: 'use 4790 (the default) for the cluster VXLAN',
      errorClass: 'config',
    });
  }
  return port;
}

/** Throws `INVALID_MTU` unless `mtu` is a whole number 68–65535. */
export function validateMtu(mtu: unknown): number {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new BackendError('INVALID_MTU', `MTU ${show(mtu)} must be a whole number between 68 and 65535`, {
      hint: 'leave network.mtu unset to use the backend default (1500 for vlan, 1450 for vxlan)',
      errorClass: 'config',
    });
  }
  return mtu;
}

/** Throws `INVALID_ADDRESS` unless `address` is a dotted IPv4 address. */
export function validateIpv4(address: unknown, field: string): string {
  const problem = typeof address === 'string' ? ipv4Problem(address) : 'must be a string';
  if (problem) {
    const hint =
      typeof address === 'string' && address.includes('/')
        ? `write the address without a prefix length, e.g. ${address.split('/')[0]}`
        : 'write a dotted IPv4 address, e.g. 192.168.1.12';
    throw new BackendError('INVALID_ADDRESS', `${field} ${show(address)} ${problem}`, { hint, errorClass: 'config' });
  }
  return address as string;
}

/**
 * Throws `INVALID_ADDRESS` unless `cidr` is an IPv4 address with prefix length, naming the
 * likely typo (missing prefix, prefix over 32, octet over 255, missing octet).
 */
export function validateCidr(cidr: unknown, field: string): string {
  const problem = typeof cidr === 'string' ? cidrProblem(cidr) : 'must be a string';
  if (!problem) return cidr as string;
  let hint = 'write address/prefix, e.g. 198.18.200.1/24';
  if (typeof cidr === 'string') {
    const [address = '', prefix] = cidr.split('/');
    if (prefix === undefined && isIpv4(address)) hint = `add the prefix length, e.g. ${address}/24`;
    else if (prefix !== undefined && !/^\d{1,2}$/.test(prefix)) hint = `the prefix length "${prefix}" must be a number 0–32`;
    else if (prefix !== undefined && Number(prefix) > 32) hint = `the prefix length ${prefix} is over 32`;
    else if (!isIpv4(address)) hint = `"${address}" is not a dotted IPv4 address (four numbers 0–255)`;
  }
  throw new BackendError('INVALID_ADDRESS', `${field} ${show(cidr)} is not an IPv4 CIDR`, { hint, errorClass: 'config' });
}
