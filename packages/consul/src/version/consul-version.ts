import { consulError } from '../consul-errors.js';

/** A Consul agent version, parsed once from whatever reported it (`consul version`, an image label, a tag). */
export interface ConsulVersion {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release or edition suffix (`beta1`, `ent`, `fake`); empty for a release. */
  prerelease: string;
  /** Where the version came from, for messages: e.g. `consul version`, `image label`, `image tag`. */
  source: string;
}

/** The oldest Consul Cluster Lab renders a configuration for (Debian 11's package is 1.8.7). */
export const MIN_CONSUL_VERSION = { major: 1, minor: 8, patch: 0 } as const;

/**
 * Parses a Consul version from any of the forms agents and packages report it in:
 * `Consul v1.8.7` (first line of `consul version`), the JSON of `consul version -format=json`,
 * `v1.20.1`, `1.21.0-ent`, Debian's `1.8.7+dfsg1-2+b3`, or an image tag such as `1.20`.
 * Throws `CONSUL_VERSION_UNKNOWN` when there is no version in `text`.
 *
 * @example
 * ```ts
 * parseConsulVersion('Consul v1.8.7'); // → { major: 1, minor: 8, patch: 7, prerelease: '', source: 'consul version' }
 * parseConsulVersion('{"Version":"1.20.1","Prerelease":""}', 'consul version -format=json');
 * ```
 */
export function parseConsulVersion(text: string, source = 'consul version'): ConsulVersion {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: { Version?: unknown; Prerelease?: unknown };
    try {
      json = JSON.parse(trimmed) as typeof json;
    } catch {
      throw unknownVersion(text, source);
    }
    if (typeof json.Version !== 'string') throw unknownVersion(text, source);
    const parsed = parseConsulVersion(json.Version, source);
    return typeof json.Prerelease === 'string' && json.Prerelease !== '' ? { ...parsed, prerelease: json.Prerelease } : parsed;
  }
  const m = /(?:^|\s|v)(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?/.exec(trimmed);
  if (!m) throw unknownVersion(text, source);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), prerelease: m[4] ?? '', source };
}

/** `1.8.7`, or `1.21.0-ent` with a suffix. */
export function formatConsulVersion(v: ConsulVersion): string {
  return `${v.major}.${v.minor}.${v.patch}${v.prerelease ? `-${v.prerelease}` : ''}`;
}

/**
 * True when `v` is at least `major.minor.patch`. A pre-release counts as its release: Consul's
 * config keys change at minor releases, and a `1.11.0-beta1` already speaks 1.11's keys.
 */
export function consulVersionAtLeast(v: ConsulVersion, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

/**
 * Refuses agents older than {@link MIN_CONSUL_VERSION} with `CONSUL_TOO_OLD`, naming the version,
 * where it was found and the fix; returns `v` otherwise.
 *
 * @example
 * ```ts
 * requireSupportedConsul(parseConsulVersion('Consul v1.7.2')); // throws CONSUL_TOO_OLD
 * ```
 */
export function requireSupportedConsul(v: ConsulVersion, what = 'the Consul agent'): ConsulVersion {
  const { major, minor, patch } = MIN_CONSUL_VERSION;
  if (consulVersionAtLeast(v, major, minor, patch)) return v;
  throw consulError(
    'CONSUL_TOO_OLD',
    `${what} is Consul ${formatConsulVersion(v)} (from ${v.source}); Cluster Lab needs Consul ${major}.${minor} or newer`,
    {
      hint: "install a newer Consul: `sudo bash scripts/setup.sh` or `cluster-lab dependencies --install` (Debian 11 build 1.8.7), HashiCorp's packages, or the hashicorp/consul image (consul.runtime: container)",
      errorClass: 'dependency',
    },
  );
}

function unknownVersion(text: string, source: string) {
  const shown = text.trim().split('\n')[0]?.slice(0, 80) ?? '';
  return consulError('CONSUL_VERSION_UNKNOWN', `cannot tell the Consul version from ${source}: ${JSON.stringify(shown)}`, {
    hint: 'check that consul.binary / consul.image really is HashiCorp Consul (`consul version` prints "Consul v1.x.y")',
    errorClass: 'dependency',
  });
}
