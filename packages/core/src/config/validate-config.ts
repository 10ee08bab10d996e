import type { z } from 'zod';
import { cidrContains, ipv4ToInt, isIpv4, parseCidr } from '../net/ipv4.js';
import type { ConfigProblem } from './config-error.js';
import { ConfigError } from './config-error.js';
import { type ClusterConfig, configSchema } from './schema.js';

const HINTS: Record<string, string> = {
  interface: 'use the name of your uplink NIC, e.g. eth0 (see `ip link`)',
  'network.backend': 'use vlan (default), native or vxlan',
  'network.vlanId': 'use a VLAN id between 1 and 4094, e.g. 200',
  subnet: 'write the cluster subnet as CIDR, e.g. 192.168.200.0/24',
  leaderAddress: 'use a host address inside the subnet, e.g. 192.168.200.1',
  role: 'use auto, leader or follower',
  'swarm.managers': 'use 1, 3, 5 or 7',
  'dhcp.leaseTime': 'use e.g. 1h or 3600',
};

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function pathOf(path: PropertyKey[]): string {
  return (
    path
      .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
      .join('.')
      .replaceAll('.[', '[') || '(root)'
  );
}

/**
 * Validates raw configuration data (already merged from file, legacy file, env and flags) and
 * returns the typed config with defaults. Throws {@link ConfigError} listing every problem.
 *
 * @example
 * ```ts
 * const config = parseConfig({ network: { backend: 'vxlan' }, role: 'auto' });
 * ```
 */
export function parseConfig(input: unknown, source?: string): ClusterConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => zodProblem(issue, input)),
      source,
    );
  }
  const problems = crossFieldProblems(result.data);
  if (problems.length) throw new ConfigError(problems, source);
  return result.data;
}

function zodProblem(issue: z.core.$ZodIssue, input: unknown): ConfigProblem {
  const path = pathOf(issue.path);
  let message = issue.message;
  let hint = HINTS[path];
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.join(', ');
    const base = pathOf(issue.path);
    return {
      path: base === '(root)' ? (issue.keys[0] ?? base) : `${base}.${issue.keys[0]}`,
      value: undefined,
      message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}`,
      hint: 'remove it or check its spelling against `cluster-lab config print`',
    };
  }
  if (issue.code === 'invalid_value') message = `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
  if (issue.code === 'invalid_type') message = `must be a ${issue.expected}`;
  if (issue.code === 'too_small' || issue.code === 'too_big') hint ??= message;
  const problem: ConfigProblem = { path, value: valueAt(input, issue.path), message };
  if (hint) problem.hint = hint;
  return problem;
}

function crossFieldProblems(c: ClusterConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const net = parseCidr(c.subnet);
  if (!net) return problems;
  const add = (path: string, value: unknown, message: string, hint?: string) =>
    problems.push(hint ? { path, value, message, hint } : { path, value, message });

  if (net.address !== net.network) {
    add('subnet', c.subnet, `is not a network address (did you mean ${net.network}/${net.prefix}?)`, `write ${net.network}/${net.prefix}`);
  }
  if (net.prefix > 30)
    add('subnet', c.subnet, 'is too small for a cluster (prefix must be /30 or shorter)', 'use a /24 such as 192.168.200.0/24');
  const reserved = new Map([
    [net.network, 'the network address'],
    [net.broadcast, 'the broadcast address'],
  ]);
  const hostCheck = (path: string, ip: string) => {
    if (!cidrContains(net, ip)) add(path, ip, `is outside the cluster subnet ${c.subnet}`, `use an address in ${c.subnet}`);
    else if (reserved.has(ip)) add(path, ip, `is ${reserved.get(ip)} of ${c.subnet}`, 'use a host address');
  };
  hostCheck('leaderAddress', c.leaderAddress);

  if (c.dhcp.enabled) {
    hostCheck('dhcp.rangeStart', c.dhcp.rangeStart);
    hostCheck('dhcp.rangeEnd', c.dhcp.rangeEnd);
    const start = ipv4ToInt(c.dhcp.rangeStart);
    const end = ipv4ToInt(c.dhcp.rangeEnd);
    if (start > end) add('dhcp.rangeEnd', c.dhcp.rangeEnd, `is before dhcp.rangeStart ${c.dhcp.rangeStart}`, 'swap the two addresses');
    const leader = ipv4ToInt(c.leaderAddress);
    if (leader >= start && leader <= end) {
      add(
        'dhcp.rangeStart',
        c.dhcp.rangeStart,
        `range ${c.dhcp.rangeStart}-${c.dhcp.rangeEnd} contains the leader address ${c.leaderAddress}`,
        `start the range after ${c.leaderAddress}, e.g. at .101`,
      );
    }
    const macs = new Set<string>();
    const ips = new Set<string>();
    c.dhcp.staticLeases.forEach((lease, i) => {
      const p = `dhcp.staticLeases[${i}]`;
      if (macs.has(lease.mac)) add(`${p}.mac`, lease.mac, 'is reserved twice', 'give each MAC one entry');
      if (ips.has(lease.ip)) add(`${p}.ip`, lease.ip, 'is reserved for two MACs', 'give each node its own address');
      macs.add(lease.mac);
      ips.add(lease.ip);
      hostCheck(`${p}.ip`, lease.ip);
      if (lease.ip === c.leaderAddress) add(`${p}.ip`, lease.ip, 'is the leader address', 'reserve another address');
    });
    if (c.dhcp.router && !isIpv4(c.dhcp.router)) add('dhcp.router', c.dhcp.router, 'must be an IPv4 address');
  }
  if (c.network.backend === 'vxlan') {
    const vx = c.network.vxlan;
    if (vx.port === 4789) add('network.vxlan.port', vx.port, 'collides with Docker Swarm overlay traffic (UDP 4789)', 'use 4790');
    if (vx.group && !/^(22[4-9]|23\d)\./.test(vx.group))
      add('network.vxlan.group', vx.group, 'is not a multicast address (224.0.0.0/4)', 'use e.g. 239.1.1.200');
    if (vx.name === c.interface) add('network.vxlan.name', vx.name, 'is the uplink interface itself', 'use another name, e.g. vx200');
  }
  if (c.consul.servers > 1 && c.consul.servers % 2 === 0) {
    add('consul.servers', c.consul.servers, 'must be odd so Consul servers keep a Raft majority', 'use 1, 3 or 5');
  }
  return problems;
}
