import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DAEMON_LOGS_ENV } from '../process/daemon-log.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { parseLegacyClusterConf } from './legacy.js';
import { type ClusterConfig, configSchema } from './schema.js';
import { parseConfig } from './validate-config.js';

/** Files looked for, in order, when no `--config` is given. */
export const DEFAULT_CONFIG_PATHS = ['/etc/cluster-lab/config.yaml', '/etc/cluster-lab/config.json', '/etc/cluster-lab/cluster.conf'];

/** Prefix of environment variables that override config fields. */
export const ENV_PREFIX = 'CLUSTER_LAB_';

/**
 * Variables under {@link ENV_PREFIX} that belong to the `cluster-lab` program itself, not to the
 * config: `CLUSTER_LAB_CONFIG` (the config file's path), `CLUSTER_LAB_DEBUG` (stack traces on
 * unexpected errors) and `CLUSTER_LAB_DAEMON_LOGS` (daemons' output to the journal or files).
 * {@link envOverrides} skips them, so no config field can take these names.
 */
export const RESERVED_ENV_NAMES: readonly string[] = ['CLUSTER_LAB_CONFIG', 'CLUSTER_LAB_DEBUG', DAEMON_LOGS_ENV];

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Config file (YAML, JSON or legacy `cluster.conf`). When set it must exist. */
  file?: string;
  /** What named {@link file}, for the error when it cannot be read (default `--config`; e.g. `CLUSTER_LAB_CONFIG`). */
  fileOrigin?: string;
  /** Look in {@link DEFAULT_CONFIG_PATHS} when `file` is not set. Default true. */
  searchDefaults?: boolean;
  /** Environment to read `CLUSTER_LAB_*` overrides from. Default: none. */
  env?: Record<string, string | undefined>;
  /** Highest-priority overrides (from command-line flags), in the config's shape. */
  overrides?: Record<string, unknown>;
}

/** A loaded configuration and where it came from. */
export interface LoadedConfig {
  config: ClusterConfig;
  /** Sources merged, lowest priority first (`defaults`, a file, `env`, `flags`). */
  sources: string[];
  warnings: string[];
}

/**
 * Loads the effective configuration: defaults ← file ← `CLUSTER_LAB_*` environment ← flags,
 * validated as a whole. Throws {@link ConfigError} naming each bad field.
 *
 * Environment keys map onto fields by path: `CLUSTER_LAB_INTERFACE=eth1`,
 * `CLUSTER_LAB_NETWORK__BACKEND=vxlan`, `CLUSTER_LAB_DHCP__RANGE_START=192.168.200.50`.
 *
 * @example
 * ```ts
 * const { config } = await loadConfig({ file: '/etc/cluster-lab/config.yaml', env: process.env });
 * ```
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const sources = ['defaults'];
  const warnings: string[] = [];
  let merged: Record<string, unknown> = {};
  // Field path → where its value was set, when that is not a field of the same name in a file.
  const origins = new Map<string, string>();
  const file = options.file ?? (options.searchDefaults === false ? undefined : await firstExisting(DEFAULT_CONFIG_PATHS));
  if (file) {
    const read = await readConfigSource(file, warnings, options.fileOrigin);
    merged = read.data;
    for (const [path, key] of Object.entries(read.origins)) origins.set(path, `${key} in ${file}`);
    sources.push(file);
  }
  const fromEnv = envOverrides(options.env ?? {});
  if (Object.keys(fromEnv).length) {
    merged = deepMerge(merged, fromEnv);
    for (const key of Object.keys(options.env ?? {})) {
      const path = envPath(key);
      if (path && options.env?.[key] !== undefined) origins.set(path.join('.'), key);
    }
    sources.push('env');
  }
  if (options.overrides && Object.keys(options.overrides).length) {
    merged = deepMerge(merged, options.overrides);
    for (const path of leafPaths(options.overrides)) origins.set(path, 'a command-line flag');
    sources.push('flags');
  }
  try {
    return { config: parseConfig(merged, sources.length > 1 ? sources.slice(1).join(' + ') : undefined), sources, warnings };
  } catch (error) {
    if (!(error instanceof ConfigError) || origins.size === 0) throw error;
    throw new ConfigError(
      error.problems.map((p) => withOrigin(p, origins)),
      error.source,
    );
  }
}

/** Adds where a bad value came from, looking up the field and then its parents (`dhcp.staticLeases[0].ip` → `dhcp.staticLeases`). */
function withOrigin(problem: ConfigProblem, origins: Map<string, string>): ConfigProblem {
  let path = problem.path;
  for (;;) {
    const origin = origins.get(path);
    if (origin) return { ...problem, origin };
    const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    if (cut <= 0) return problem;
    path = path.slice(0, cut);
  }
}

function leafPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, v]) => {
    if (v === undefined) return [];
    const path = prefix ? `${prefix}.${key}` : key;
    return isPlain(v) && Object.keys(v).length ? leafPaths(v, path) : [path];
  });
}

/** Reads one config file; the format is chosen by extension (`.yaml`/`.yml`, `.json`, `.conf`). */
export async function readConfigFile(file: string, warnings: string[] = []): Promise<Record<string, unknown>> {
  return (await readConfigSource(file, warnings)).data;
}

async function readConfigSource(
  file: string,
  warnings: string[],
  fileOrigin = '--config',
): Promise<{ data: Record<string, unknown>; origins: Record<string, string> }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([
      {
        path: fileOrigin,
        value: file,
        message: code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`,
        hint: 'pass the path of an existing YAML, JSON or cluster.conf file',
      },
    ]);
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.conf' || basename(file) === 'cluster.conf') {
    const legacy = parseLegacyClusterConf(text);
    if (legacy.problems.length) throw new ConfigError(legacy.problems, file);
    warnings.push(...legacy.warnings);
    return { data: legacy.input, origins: legacy.origins };
  }
  try {
    const data = ext === '.json' ? JSON.parse(text) : parseYaml(text);
    if (data === null || data === undefined) return { data: {}, origins: {} };
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new ConfigError(
        [{ path: '(root)', value: data, message: 'must be a mapping of fields', hint: 'start the file with e.g. `interface: eth0`' }],
        file,
      );
    }
    return { data: data as Record<string, unknown>, origins: {} };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      [
        {
          path: '(file)',
          value: file,
          message: `is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
        },
      ],
      file,
    );
  }
}

/** Turns `CLUSTER_LAB_*` variables into a nested override object. */
export function envOverrides(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(env)) {
    const path = envPath(key);
    if (!path || raw === undefined) continue;
    setPath(out, path, coerce(raw, path));
  }
  return out;
}

/** `CLUSTER_LAB_DHCP__RANGE_START` → `['dhcp', 'rangeStart']`; undefined for other and reserved variables. */
function envPath(key: string): string[] | undefined {
  if (!key.startsWith(ENV_PREFIX) || RESERVED_ENV_NAMES.includes(key)) return undefined;
  const path = key
    .slice(ENV_PREFIX.length)
    .split('__')
    .map((seg) => seg.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
  return path.some((p) => p === '') ? undefined : path;
}

/**
 * Converts an environment string to what the field at `path` expects, so `CLUSTER_LAB_HOSTNAME=1234`
 * stays a string while `CLUSTER_LAB_NETWORK__VLAN_ID=300` becomes a number. Values that do not
 * fit stay strings, and the schema then reports them with the field's own message.
 */
function coerce(raw: string, path: readonly string[]): unknown {
  const kind = fieldKind(path);
  const json = () => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw;
    }
  };
  switch (kind) {
    case 'string':
    case 'enum':
      return raw;
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'array':
    case 'record':
    case 'object':
      return /^[[{]/.test(raw) ? json() : raw;
    default:
      // Unions (a lease time is seconds or "12h") and unknown fields: guess from the text.
      if (/^-?\d+$/.test(raw)) return Number(raw);
      if (raw === 'true' || raw === 'false') return raw === 'true';
      return /^[[{]/.test(raw) ? json() : raw;
  }
}

interface SchemaNode {
  def: { type: string; innerType?: SchemaNode; in?: SchemaNode; shape?: Record<string, SchemaNode> };
}

/** The zod type name (`string`, `number`, …) of the config field at `path`, if the field exists. */
function fieldKind(path: readonly string[]): string | undefined {
  const unwrap = (node: SchemaNode): SchemaNode => {
    let cur = node;
    for (;;) {
      const { type, innerType, in: input } = cur.def;
      if ((type === 'default' || type === 'optional' || type === 'nullable' || type === 'prefault') && innerType) cur = innerType;
      else if (type === 'pipe' && input) cur = input;
      else return cur;
    }
  };
  let node = unwrap(configSchema as unknown as SchemaNode);
  for (const key of path) {
    const next = node.def.type === 'object' ? node.def.shape?.[key] : undefined;
    if (!next) return undefined;
    node = unwrap(next);
  }
  return node.def.type;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = target;
  path.slice(0, -1).forEach((key) => {
    if (typeof cur[key] !== 'object' || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  });
  cur[path.at(-1) as string] = value;
}

/**
 * Deep-merges plain objects; arrays and scalars from `over` replace those in `base`. An
 * `undefined` in `over` changes nothing, so a flag object with unset options (`{ interface:
 * undefined }`) never wipes a value from the file.
 */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isPlain(prev) && isPlain(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) {
    try {
      await readFile(p);
      return p;
    } catch {
      // try the next
    }
  }
  return undefined;
}
