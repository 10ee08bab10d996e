import { access, constants, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { z } from 'zod';
import { cidrContains, type Ipv4Cidr, ipv4ToInt, parseCidr } from '../net/ipv4.js';
import type { Network } from '../net/types.js';
import { type ReadSecretFileOptions, secretFileProblem } from '../security/secret-file.js';
import type { ConfigProblem } from './config-error.js';
import { ConfigError } from './config-error.js';
import { type ClusterConfig, configSchema } from './schema.js';

const HINTS: Record<string, string> = {
  interface: 'use the name of your uplink NIC, e.g. eth0 (see `ip link`)',
  'network.backend': 'use vlan (default), native or vxlan',
  'network.vlanId': 'use a VLAN id between 1 and 4094, e.g. 200',
  'network.vxlan.vni': 'use a VXLAN id between 1 and 16777215, e.g. 200',
  subnet: 'write the cluster subnet as CIDR, e.g. 192.168.200.0/24',
  leaderAddress: 'use a host address inside the subnet, e.g. 192.168.200.1',
  role: 'use auto, leader or follower',
  'swarm.managers': 'use 1, 3, 5 or 7',
  'dhcp.leaseTime': 'use e.g. 1h or 3600',
  'consul.encrypt': 'generate one with `consul keygen`',
  stateDir: 'use an absolute path such as /var/lib/cluster-lab',
  secretFile: 'use an absolute path such as /etc/cluster-lab/secret',
  security: 'use secret (the default) or open',
  'consul.image': 'use an image reference such as hashicorp/consul:1.20',
  'consul.binary': 'use a command name such as consul, or the absolute path of the executable, e.g. /usr/bin/consul',
  'consul.aclToken': 'use a UUID, e.g. from `uuidgen`',
  'docker.socket': 'use an absolute path such as /var/run/docker.sock',
  'failover.leaderTimeout': 'use e.g. 5 (seconds) or 5s',
  'membership.removeAfter': 'use e.g. 60 (seconds), 90s or 10m',
};

const UNKNOWN_FIELD_HINT = 'remove it or check its spelling against `cluster-lab config print`';

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function pathOf(path: readonly PropertyKey[]): string {
  return (
    path
      .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
      .join('.')
      .replaceAll('.[', '[') || '(root)'
  );
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/**
 * Messages for zod's built-in checks, in the same "must …" voice as our own. Messages set on
 * the schema itself take precedence over this map (zod's error precedence), so only the
 * generic ones are rewritten.
 */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      if (issue.expected === 'int') return 'must be a whole number';
      return `must be ${article(String(issue.expected))}`;
    case 'too_small':
      if (issue.origin === 'string')
        return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `must have at least ${issue.minimum} entries`;
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} entries`;
      return `must be at most ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return 'has the wrong format';
    default:
      return undefined;
  }
};

/**
 * Validates raw configuration data (already merged from file, legacy file, env and flags) and
 * returns the typed config with defaults. Throws {@link ConfigError} listing every problem.
 *
 * Field checks come first; the cross-field checks (DHCP range inside the subnet, leader address
 * outside the range, …) run once every field is individually valid, so their messages never
 * compare against a value that was itself wrong.
 *
 * @example
 * ```ts
 * const config = parseConfig({ network: { backend: 'vxlan' }, role: 'auto' });
 * ```
 */
export function parseConfig(input: unknown, source?: string): ClusterConfig {
  const result = configSchema.safeParse(input ?? {}, { error: errorMap });
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.flatMap((issue) => zodProblems(issue, input)),
      source,
    );
  }
  const problems = crossFieldProblems(result.data);
  if (problems.length) throw new ConfigError(problems, source);
  return result.data;
}

function zodProblems(issue: z.core.$ZodIssue, input: unknown): ConfigProblem[] {
  const path = pathOf(issue.path);
  if (issue.code === 'unrecognized_keys') {
    // One problem per key, each with its own path and value, like every other problem.
    return issue.keys.map((key) => ({
      path: path === '(root)' ? key : `${path}.${key}`,
      value: valueAt(input, [...issue.path, key]),
      message: 'is not a known field',
      hint: UNKNOWN_FIELD_HINT,
    }));
  }
  if (issue.code === 'invalid_key') {
    // zod puts the record's key last in the path; the offending value is the key itself.
    const key = issue.path.at(-1);
    return [{ path, value: key, message: `key ${issue.issues[0]?.message ?? 'is not allowed'}` }];
  }
  const problem: ConfigProblem = { path, value: valueAt(input, issue.path), message: issue.message };
  const hint = HINTS[path];
  if (hint) problem.hint = hint;
  return [problem];
}

/** The cross-field checks of a config whose fields are individually valid. */
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
  if (net.prefix < 8)
    add('subnet', c.subnet, 'is too large for a cluster (prefix must be /8 or longer)', 'use a /24 such as 192.168.200.0/24');
  // Checking addresses against a wrong subnet would only add noise: fix the subnet first.
  if (problems.length) return problems;
  const hostCheck = (path: string, ip: string) => hostAddressProblem(net, c.subnet, ip, (message, hint) => add(path, ip, message, hint));
  hostCheck('leaderAddress', c.leaderAddress);

  if (c.dhcp.enabled) {
    const before = problems.length;
    hostCheck('dhcp.rangeStart', c.dhcp.rangeStart);
    hostCheck('dhcp.rangeEnd', c.dhcp.rangeEnd);
    const start = ipv4ToInt(c.dhcp.rangeStart);
    const end = ipv4ToInt(c.dhcp.rangeEnd);
    if (start > end) add('dhcp.rangeEnd', c.dhcp.rangeEnd, `is before dhcp.rangeStart ${c.dhcp.rangeStart}`, 'swap the two addresses');
    const leader = ipv4ToInt(c.leaderAddress);
    if (problems.length === before && leader >= start && leader <= end) {
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
      if (lease.ip === c.leaderAddress) add(`${p}.ip`, lease.ip, 'is the leader address', 'reserve another address');
      else hostCheck(`${p}.ip`, lease.ip);
    });
    if (c.dhcp.router !== undefined) hostCheck('dhcp.router', c.dhcp.router);
  }
  if (c.network.backend === 'vlan') {
    const vlanLink = `${c.interface}.${c.network.vlanId}`;
    if (c.network.vlanName === undefined && vlanLink.length > 15) {
      add(
        'interface',
        c.interface,
        `makes the VLAN link name "${vlanLink}" ${vlanLink.length} characters long; Linux allows at most 15`,
        `name the VLAN link yourself: network.vlanName: vlan${c.network.vlanId}`,
      );
    }
    if (c.network.vlanName !== undefined && c.network.vlanName === c.interface) {
      add('network.vlanName', c.network.vlanName, 'is the uplink interface itself', `use another name, e.g. vlan${c.network.vlanId}`);
    }
  }
  if (c.network.backend === 'vxlan') {
    const vx = c.network.vxlan;
    if (vx.port === 4789) add('network.vxlan.port', vx.port, 'collides with Docker Swarm overlay traffic (UDP 4789)', 'use 4790');
    if (vx.group !== undefined && !/^(22[4-9]|23\d)\./.test(vx.group)) {
      add('network.vxlan.group', vx.group, 'is not a multicast address (224.0.0.0/4)', 'use e.g. 239.1.1.200');
    }
    if (vx.group !== undefined && vx.peers.length > 0) {
      add(
        'network.vxlan.peers',
        vx.peers,
        `cannot be combined with network.vxlan.group ${vx.group}`,
        'use either a multicast group or a static peer list',
      );
    }
    vx.peers.forEach((peer, i) => {
      if (cidrContains(net, peer)) {
        add(
          `network.vxlan.peers[${i}]`,
          peer,
          `is inside the cluster subnet ${c.subnet}`,
          "list the peers' uplink addresses, not their cluster addresses",
        );
      }
    });
    if (vx.name === c.interface) add('network.vxlan.name', vx.name, 'is the uplink interface itself', 'use another name, e.g. vx200');
  }
  if (c.consul.servers > 1 && c.consul.servers % 2 === 0) {
    add('consul.servers', c.consul.servers, 'must be odd so Consul servers keep a Raft majority', 'use 1, 3 or 5');
  }
  // One slot table decides both roles: a node with a Consul server slot is exactly a Swarm
  // manager. Two counts would let the sets diverge (losing two nodes then loses quorum in both).
  if (c.consul.enabled && c.swarm.enabled && c.consul.servers !== c.swarm.managers) {
    add(
      'swarm.managers',
      c.swarm.managers,
      `differs from consul.servers (${c.consul.servers}): the Consul servers and the Swarm managers are the same nodes`,
      `set consul.servers and swarm.managers to the same odd number, e.g. both ${Math.max(c.consul.servers, c.swarm.managers)}`,
    );
  }
  return problems;
}

function hostAddressProblem(net: Ipv4Cidr, subnet: string, ip: string, report: (message: string, hint: string) => void): void {
  if (!cidrContains(net, ip)) report(`is outside the cluster subnet ${subnet}`, `use an address in ${subnet}`);
  else if (ip === net.network) report(`is the network address of ${subnet}`, 'use a host address');
  else if (ip === net.broadcast) report(`is the broadcast address of ${subnet}`, 'use a host address');
}

/** Options of {@link hostConfigProblems}. */
export interface HostCheckOptions {
  /**
   * Also check the cluster secret file (`secretFile`, unless `security: open`): it exists, is a
   * regular file with mode 0600/0400 owned by root, and holds a valid secret. `config check`
   * turns this on; the boot flow's preflight does once it derives its keys from the secret.
   * Default false.
   */
  secret?: boolean;
  /** Passed to the secret file check (tests). */
  secretFile?: ReadSecretFileOptions;
}

/**
 * Checks a validated config against the machine it runs on: the uplink interface must exist
 * (the problem lists the interfaces that do); an absolute `consul.binary` must be an executable
 * file (when Consul may run as a binary); and with `options.secret` the secret file must be
 * usable. Returns the problems; the caller decides whether to throw them as a
 * {@link ConfigError} (`cluster-lab config check` does).
 *
 * @example
 * ```ts
 * const problems = await hostConfigProblems(config, new IpRoute2(new ExecaRunner()), { secret: true });
 * if (problems.length) throw new ConfigError(problems);
 * ```
 */
export async function hostConfigProblems(
  config: ClusterConfig,
  network: Network,
  options: HostCheckOptions = {},
): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const links = await network.listLinks();
  if (!links.some((l) => l.name === config.interface)) {
    const names = links.map((l) => l.name).filter((n) => n !== 'lo');
    problems.push({
      path: 'interface',
      value: config.interface,
      message: 'does not exist on this machine',
      hint: names.length ? `use one of: ${names.join(', ')}` : 'check the interface name with `ip link`',
    });
  }
  const binary = config.consul.binary;
  if (config.consul.enabled && config.consul.runtime !== 'container' && isAbsolute(binary)) {
    const problem = await executableProblem(binary);
    if (problem) problems.push({ path: 'consul.binary', value: binary, message: problem, hint: CONSUL_BINARY_HINT });
  }
  if (options.secret && config.security === 'secret') {
    const problem = await secretFileProblem(config.secretFile, options.secretFile);
    if (problem) problems.push(problem);
  }
  return problems;
}

const CONSUL_BINARY_HINT = 'set consul.binary to the path of the consul executable (see `command -v consul`), or to plain `consul`';

async function executableProblem(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return 'is not a regular file';
    await access(path, constants.X_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
    if (code === 'EACCES') return 'is not executable';
    return `cannot be checked (${code ?? String(error)})`;
  }
}
