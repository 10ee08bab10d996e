import { netmaskToPrefix } from '../net/ipv4.js';
import type { ConfigProblem } from './config-error.js';

/** Result of reading a legacy `cluster.conf`. */
export interface LegacyParseResult {
  /** Config input in the new shape. */
  input: Record<string, unknown>;
  /** Keys we understood but ignore, and keys we do not know. */
  warnings: string[];
  problems: ConfigProblem[];
  /** Which legacy key each field of `input` came from (`leaderAddress` → `CLUSTER_LEADER_IP`), for messages. */
  origins: Record<string, string>;
}

/** Keys derived from other keys in the new schema; accepted silently. */
const DERIVED = new Set(['DHCP_NETMASK', 'DHCP_BROADCAST', 'VLAN_INTERFACE', 'VLAN_BROADCAST']);

function bool(key: string, value: string, problems: ConfigProblem[]): boolean | undefined {
  if (/^(true|yes|1|on)$/i.test(value)) return true;
  if (/^(false|no|0|off)$/i.test(value)) return false;
  problems.push({ path: key, value, message: 'must be true or false', hint: `write ${key}="true"` });
  return undefined;
}

function int(key: string, value: string, problems: ConfigProblem[]): number | string {
  if (/^\d+$/.test(value)) return Number(value);
  problems.push({ path: key, value, message: 'must be a whole number' });
  return value;
}

/**
 * Reads the original Cluster Lab's `/etc/cluster-lab/cluster.conf` (shell `KEY="value"` lines) as
 * data — it is never sourced or executed — and maps its keys onto the new schema.
 *
 * @example
 * ```ts
 * const { input } = parseLegacyClusterConf('INTERFACE="eth0"\nVLAN_ID="300"\n');
 * // input = { interface: 'eth0', network: { vlanId: 300 } }
 * ```
 */
export function parseLegacyClusterConf(text: string): LegacyParseResult {
  const values = new Map<string, string>();
  const warnings: string[] = [];
  const problems: ConfigProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s*export\s+/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Z_][A-Z0-9_]*)=(?:"([^"]*)"|'([^']*)'|([^\s#]*))\s*(#.*)?$/.exec(line);
    if (!m) {
      problems.push({
        path: `line ${i + 1}`,
        value: raw,
        message: 'is not a KEY="value" line',
        hint: 'cluster.conf is read as data, not run as a shell script',
      });
      return;
    }
    const value = m[2] ?? m[3] ?? m[4] ?? '';
    if (m[3] === undefined && /[$`]/.test(value)) {
      problems.push({
        path: m[1] as string,
        value,
        message: 'uses shell expansion, which is not supported',
        hint: 'write the literal value',
      });
      return;
    }
    values.set(m[1] as string, value);
  });

  const input: Record<string, unknown> = {};
  const network: Record<string, unknown> = {};
  const dhcp: Record<string, unknown> = {};
  let netmask: string | undefined;
  let networkAddress: string | undefined;
  let leaderPrefix: number | undefined;

  const origins: Record<string, string> = {};
  const FIELD: Record<string, string> = {
    INTERFACE: 'interface',
    ENABLE_VLAN: 'network.backend',
    VLAN_ID: 'network.vlanId',
    CLUSTER_LEADER_IP: 'leaderAddress',
    VLAN_LEADER_IP: 'leaderAddress',
    ENABLE_DHCP: 'dhcp.enabled',
    DHCP_RANGE_FROM: 'dhcp.rangeStart',
    DHCP_RANGE_START: 'dhcp.rangeStart',
    DHCP_RANGE_TO: 'dhcp.rangeEnd',
    DHCP_RANGE_END: 'dhcp.rangeEnd',
    DHCP_LEASE_TIME: 'dhcp.leaseTime',
  };
  for (const [key, value] of values) {
    const field = FIELD[key];
    if (field) origins[field] = key;
    switch (key) {
      case 'INTERFACE':
        input.interface = value;
        break;
      case 'ENABLE_VLAN': {
        const on = bool(key, value, problems);
        if (on !== undefined) network.backend = on ? 'vlan' : 'native';
        break;
      }
      case 'VLAN_ID':
        network.vlanId = int(key, value, problems);
        break;
      case 'VLAN_NETMASK':
        netmask = value;
        break;
      case 'VLAN_NETWORK':
        networkAddress = value;
        break;
      case 'CLUSTER_LEADER_IP':
      case 'VLAN_LEADER_IP': {
        const [ip, prefix] = value.split('/');
        input.leaderAddress = ip;
        if (prefix !== undefined) {
          if (/^\d{1,2}$/.test(prefix) && Number(prefix) <= 32) leaderPrefix = Number(prefix);
          else
            problems.push({
              path: key,
              value,
              message: 'has an invalid prefix length',
              hint: 'write e.g. 192.168.200.1/24 or leave the prefix out',
            });
        }
        break;
      }
      case 'ENABLE_DHCP': {
        const on = bool(key, value, problems);
        if (on !== undefined) dhcp.enabled = on;
        break;
      }
      case 'DHCP_RANGE_FROM':
      case 'DHCP_RANGE_START':
        dhcp.rangeStart = value;
        break;
      case 'DHCP_RANGE_TO':
      case 'DHCP_RANGE_END':
        dhcp.rangeEnd = value;
        break;
      case 'DHCP_LEASE_TIME':
        dhcp.leaseTime = /^\d+$/.test(value) ? Number(value) : value;
        break;
      default:
        if (!DERIVED.has(key)) warnings.push(`cluster.conf: unknown key ${key} ignored`);
    }
  }

  let prefix = leaderPrefix;
  if (netmask !== undefined) {
    const p = netmaskToPrefix(netmask);
    if (p === undefined)
      problems.push({ path: 'VLAN_NETMASK', value: netmask, message: 'is not a valid netmask', hint: 'write e.g. 255.255.255.0' });
    else prefix = p;
  }
  const base = networkAddress ?? (typeof input.leaderAddress === 'string' ? input.leaderAddress : undefined);
  if (base !== undefined && prefix !== undefined) {
    const octets = base.split('.').map(Number);
    if (octets.length === 4 && octets.every((o) => Number.isInteger(o) && o >= 0 && o <= 255)) {
      const addr = octets.reduce((a, o) => a * 256 + o, 0);
      const size = 2 ** (32 - prefix);
      const net = addr - (addr % size);
      input.subnet = `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${prefix}`;
      origins.subnet = [
        networkAddress === undefined ? origins.leaderAddress : 'VLAN_NETWORK',
        netmask === undefined ? undefined : 'VLAN_NETMASK',
      ]
        .filter((k) => k !== undefined)
        .join(' + ');
    }
  }
  if (Object.keys(network).length) input.network = network;
  if (Object.keys(dhcp).length) input.dhcp = dhcp;
  return { input, warnings, problems, origins };
}
