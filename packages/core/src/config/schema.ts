import { z } from 'zod';
import { cidrProblem, interfaceNameProblem, ipv4Problem, macProblem } from '../net/validate.js';
import { commandProblem, controlCharacterProblem, MAX_SOCKET_PATH_LENGTH, safePathProblem, tokenProblem } from './field-checks.js';
import { imageReferenceProblem } from './image-reference.js';

/** Where the cluster secret is read from unless `secretFile` says otherwise. */
export const DEFAULT_SECRET_FILE = '/etc/cluster-lab/secret';

const ifname = z
  .string()
  .superRefine((v, ctx) => {
    const problem = interfaceNameProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: `interface name ${problem}` });
  })
  .describe('network interface name');

const ipv4 = z.string().superRefine((v, ctx) => {
  const problem = ipv4Problem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const cidr = z.string().superRefine((v, ctx) => {
  const problem = cidrProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const mac = z
  .string()
  .superRefine((v, ctx) => {
    const problem = macProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((v) => v.toLowerCase());

const port = z.number().int().min(1).max(65535);

/** A string checked by one of the `…Problem` functions (which return why a value is bad, or undefined). */
const checked = (problemOf: (value: string) => string | undefined) =>
  z.string().superRefine((v, ctx) => {
    const problem = problemOf(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** An absolute path that is safe in config files and argv (see `safePathProblem`). */
const safePath = checked(safePathProblem);

/** Lease time: seconds, or a dnsmasq-style duration such as `12h`, `30m`, `infinite`. */
const LEASE_TIME_FORMAT = 'must be seconds or a duration like 30m, 12h, 1d, or "infinite"';
/** dnsmasq refuses leases shorter than two minutes. */
const MIN_LEASE_SECONDS = 120;

// One union member per input type with the checks done in the transform: a zod union of
// refined members reports a bare "Invalid input" when every member fails (e.g. for `0`).
const leaseTime = z.union([z.number(), z.string()], { error: LEASE_TIME_FORMAT }).transform((v, ctx) => {
  const seconds = toSeconds(v);
  if (seconds === undefined) {
    ctx.addIssue({ code: 'custom', message: LEASE_TIME_FORMAT });
    return z.NEVER;
  }
  if (seconds < MIN_LEASE_SECONDS) {
    ctx.addIssue({ code: 'custom', message: `must be at least ${MIN_LEASE_SECONDS} seconds (dnsmasq refuses shorter leases)` });
    return z.NEVER;
  }
  return seconds;
});

/** Lease time in seconds (`Infinity` for `infinite`); undefined when `v` is not a lease time. */
function toSeconds(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (v === 'infinite') return Number.POSITIVE_INFINITY;
  const m = /^(\d+)([smhd]?)$/.exec(v);
  if (!m) return undefined;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

const DURATION_FORMAT = 'must be seconds or a duration like 5s, 1500ms, 2m';

/** A duration in seconds: a number, or a string like `5s`, `1500ms`, `2m`; bounded to [`min`, `max`] seconds. */
const durationSeconds = (min: number, max: number) =>
  z.union([z.number(), z.string()], { error: DURATION_FORMAT }).transform((v, ctx) => {
    const seconds = durationToSeconds(v);
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION_FORMAT });
      return z.NEVER;
    }
    if (seconds < min || seconds > max) {
      ctx.addIssue({ code: 'custom', message: `must be between ${min} and ${max} seconds` });
      return z.NEVER;
    }
    return seconds;
  });

/** Seconds of a duration (`5`, `2.5`, `5s`, `1500ms`, `2m`, `1h`); undefined when `v` is not one. */
function durationToSeconds(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v);
  if (!m) return undefined;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** Leader failover: when the members replace a silent VIP holder. */
export const failoverSchema = z
  .object({
    leaderTimeout: durationSeconds(2, 120)
      .default(5)
      .describe(
        'seconds without a valid leader heartbeat (sent every second) before the other nodes elect a new holder of the leader address; 2–120, or a duration like 5s',
      ),
  })
  .strict();

/** Membership upkeep: when a node that is gone is removed from the cluster. */
export const membershipSchema = z
  .object({
    removeAfter: durationSeconds(10, 604_800)
      .default(60)
      .describe(
        'seconds a node may be down before it is removed from the swarm and from Consul and its manager/server seat is given to a healthy node; 10 s – 7 days, or a duration like 90s, 10m',
      ),
  })
  .strict();

/** VXLAN backend options. */
export const vxlanSchema = z
  .object({
    vni: z.number().int().min(1).max(16_777_215).default(200).describe('VXLAN network identifier'),
    port: port.default(4790).describe('UDP port of the cluster VXLAN (not 4789: Swarm overlays use it)'),
    group: ipv4.optional().describe('multicast group for flooding; default 239.1.1.200 unless `peers` is set'),
    peers: z
      .array(ipv4)
      .default(() => [])
      .describe('static underlay addresses of the other nodes (instead of multicast)'),
    name: ifname.default('vx200').describe('name of the VXLAN interface'),
  })
  .strict();

/** The cluster network: how the isolated cluster link is built on the uplink. */
export const networkSchema = z
  .object({
    backend: z.enum(['vlan', 'native', 'vxlan']).default('vlan').describe('cluster link backend'),
    vlanId: z
      .number()
      .int()
      .min(1, 'must be between 1 and 4094')
      .max(4094, 'must be between 1 and 4094')
      .default(200)
      .describe('802.1Q VLAN id (vlan backend)'),
    vlanName: ifname
      .optional()
      .describe('name of the VLAN interface (vlan backend); default `<interface>.<vlanId>`, set it when that is longer than 15 characters'),
    mtu: z.number().int().min(576).max(9000).optional().describe('MTU of the cluster link'),
    vxlan: vxlanSchema.default(() => vxlanSchema.parse({})).describe('vxlan backend options'),
  })
  .strict();

/** One static DHCP reservation. */
export const staticLeaseSchema = z
  .object({
    mac: mac.describe('client MAC address'),
    ip: ipv4.describe('reserved address'),
    hostname: z
      .string()
      .regex(/^[a-zA-Z0-9-]{1,63}$/, 'must be a plain host name (letters, digits, -)')
      .optional()
      .describe('host name handed out with the lease'),
  })
  .strict();

/** DHCP server (leader) and client (followers) options. */
export const dhcpSchema = z
  .object({
    enabled: z.boolean().default(true).describe('serve DHCP on the leader, lease on followers'),
    rangeStart: ipv4.default('192.168.200.101').describe('first address handed out'),
    rangeEnd: ipv4.default('192.168.200.200').describe('last address handed out'),
    leaseTime: leaseTime.default(3600).describe('lease time (seconds or 30m/12h/1d/infinite)'),
    staticLeases: z
      .array(staticLeaseSchema)
      .default(() => [])
      .describe('fixed addresses by MAC (e.g. for Swarm managers)'),
    router: ipv4.optional().describe('default gateway to hand out; unset = none (never replaces the uplink route)'),
    dns: z
      .array(ipv4)
      .default(() => [])
      .describe('DNS servers to hand out; unset = none'),
    client: z.enum(['auto', 'udhcpc', 'dhclient', 'dhcpcd']).default('auto').describe('DHCP client program on followers'),
    timeoutSeconds: z.number().int().min(1).max(600).default(20).describe('how long a follower waits for a lease'),
  })
  .strict();

/** Consul options. */
export const consulSchema = z
  .object({
    enabled: z.boolean().default(true).describe('run a Consul agent (server on the leader, joined on followers)'),
    runtime: z.enum(['auto', 'container', 'binary']).default('auto').describe('run Consul as a container or a host binary'),
    image: checked(imageReferenceProblem)
      .default('hashicorp/consul:1.20')
      .describe('Consul image (container runtime): an image reference such as `hashicorp/consul:1.20`'),
    binary: checked(commandProblem)
      .default('consul')
      .describe('Consul executable (binary runtime): a command name looked up in PATH, or an absolute path to an executable file'),
    servers: z
      .number()
      .int()
      .min(1)
      .max(7)
      .default(3)
      .describe('how many nodes run a Consul server; they are the Swarm managers too, so it must equal `swarm.managers`'),
    datacenter: z
      .string()
      .regex(/^[a-z0-9_-]{1,64}$/, 'must be lower-case letters, digits, _ or -')
      .default('cluster-lab')
      .describe('Consul datacenter name'),
    encrypt: z
      .string()
      .regex(/^[A-Za-z0-9+/]{22}==$|^[A-Za-z0-9+/]{43}=$/, 'must be a base64 key of 16 or 32 bytes (`consul keygen`)')
      .optional()
      .describe('gossip encryption key'),
    aclToken: z.string().min(1).pipe(checked(tokenProblem)).optional().describe('ACL token used by Cluster Lab'),
    httpPort: port.default(8500).describe('Consul HTTP API port (loopback, the node address and the leader address)'),
    exposeUi: z.boolean().default(false).describe('bind the HTTP API/UI on all addresses (warns)'),
  })
  .strict();

/** Docker Swarm options. */
export const swarmSchema = z
  .object({
    enabled: z.boolean().default(true).describe('form Docker Swarm (init on the leader, join on followers)'),
    managers: z
      .number()
      .int()
      .min(1)
      .max(7)
      .refine((n) => n % 2 === 1, 'must be odd (1, 3, 5 or 7) so managers keep a Raft majority')
      .default(3)
      .describe(
        'manager count to keep when there are enough nodes; the managers are the Consul servers, so it must equal `consul.servers`',
      ),
    labels: z
      .record(
        z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a lower-case label key (a-z, 0-9, . _ -)'),
        checked(controlCharacterProblem),
      )
      .default(() => ({}))
      .describe('extra node labels'),
  })
  .strict();

/** Docker daemon access. */
export const dockerSchema = z
  .object({
    socket: safePath
      .max(MAX_SOCKET_PATH_LENGTH, `must be at most ${MAX_SOCKET_PATH_LENGTH} characters (the limit of a unix socket path)`)
      .default('/var/run/docker.sock')
      .describe('Docker API unix socket'),
  })
  .strict();

/**
 * The whole Cluster Lab configuration. Defaults match the original Hypriot Cluster Lab:
 * `eth0`, VLAN 200, `192.168.200.0/24`, leader `192.168.200.1`, DHCP `.101`–`.200`.
 */
export const configSchema = z
  .object({
    interface: ifname.default('eth0').describe('uplink interface the cluster link is built on'),
    network: networkSchema.default(() => networkSchema.parse({})),
    subnet: cidr.default('192.168.200.0/24').describe('cluster subnet'),
    leaderAddress: ipv4.default('192.168.200.1').describe('address the leader holds'),
    role: z.enum(['auto', 'leader', 'follower']).default('auto').describe('pin the role or elect it'),
    priority: z.number().int().min(0).max(255).default(100).describe('election priority (higher wins)'),
    hostname: z
      .string()
      .regex(/^[a-zA-Z0-9-]{1,63}$/, 'must be a plain host name (letters, digits and -, at most 63)')
      .optional()
      .describe('node name; default: the host name'),
    dhcp: dhcpSchema.default(() => dhcpSchema.parse({})),
    consul: consulSchema.default(() => consulSchema.parse({})),
    swarm: swarmSchema.default(() => swarmSchema.parse({})),
    docker: dockerSchema.default(() => dockerSchema.parse({})),
    failover: failoverSchema.default(() => failoverSchema.parse({})),
    membership: membershipSchema.default(() => membershipSchema.parse({})),
    stateDir: safePath.default('/var/lib/cluster-lab').describe('where the journal, leases and configs live'),
    secretFile: safePath
      .default(DEFAULT_SECRET_FILE)
      .describe(
        'file holding the cluster secret (`cluster-lab secret generate`), the same on every node; mode 0600 or 0400, owned by root. Consul gossip key, ACL tokens, election authentication and the Swarm token encryption are derived from it',
      ),
    security: z
      .enum(['secret', 'open'])
      .default('secret')
      .describe(
        '`secret`: every node needs the cluster secret (`secretFile`); `open`: no secret, nothing authenticated — for a throwaway setup only, warned about on every start and health',
      ),
  })
  .strict();

/** Input accepted by the loaders (everything optional). */
export type ClusterConfigInput = z.input<typeof configSchema>;
/** A validated configuration with every default filled in. */
export type ClusterConfig = z.output<typeof configSchema>;
