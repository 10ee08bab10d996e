import type { CommandRunner } from '../command/command-runner.js';
import { ClusterLabError } from '../errors/cluster-lab-error.js';

/** One kernel setting this process changed, enough to put it back. Journal it (it holds no secret). */
export interface SysctlChange {
  /** The key as given, e.g. `net.ipv4.ip_nonlocal_bind` or `net/ipv4/conf/eth0.200/promote_secondaries`. */
  key: string;
  /** The value before the change. */
  previous: string;
  /** The value this process wrote. */
  value: string;
}

/** What {@link restoreSysctl} found. */
export type SysctlRestoreOutcome = 'restored' | 'changed-since' | 'already-previous';

const SEGMENT = /^[A-Za-z0-9_@-][A-Za-z0-9_.@-]*$/;

/**
 * The `/proc/sys` file of a sysctl key. Two spellings, as `sysctl(8)` accepts them: dotted
 * (`net.ipv4.ip_nonlocal_bind`), or with slashes when a part contains a dot — an interface name
 * such as `eth0.200` in `net/ipv4/conf/eth0.200/promote_secondaries`.
 *
 * @example
 * ```ts
 * sysctlPath('net.ipv4.ip_nonlocal_bind'); // '/proc/sys/net/ipv4/ip_nonlocal_bind'
 * ```
 */
export function sysctlPath(key: string): string {
  const parts = key.includes('/') ? key.split('/') : key.split('.');
  if (parts.length < 2 || parts.some((p) => !SEGMENT.test(p) || p === '.' || p === '..')) {
    throw new ClusterLabError('INVALID_ARGUMENT', `sysctl key ${JSON.stringify(key)} is not a kernel setting name`, {
      hint: 'write it like net.ipv4.ip_nonlocal_bind, or net/ipv4/conf/eth0.200/promote_secondaries when a part contains a dot',
      errorClass: 'usage',
    });
  }
  return `/proc/sys/${parts.join('/')}`;
}

/**
 * Reads a kernel setting where `runner` runs (inside a lab node's network namespace, the
 * namespace's own `net.*` values). Equivalent to `sysctl -n <key>`; runs `cat` on the
 * `/proc/sys` file, so it needs only coreutils.
 */
export async function readSysctl(runner: CommandRunner, key: string): Promise<string> {
  const result = await runner.run('cat', [sysctlPath(key)], { timeoutMs: 5_000 });
  return result.stdout.trim();
}

/** Writes a kernel setting where `runner` runs. Equivalent to `sysctl -w <key>=<value>` (runs `tee` on the `/proc/sys` file). */
export async function writeSysctl(runner: CommandRunner, key: string, value: string): Promise<void> {
  assertSysctlValue(key, value);
  await runner.run('tee', [sysctlPath(key)], { input: `${value}\n`, timeoutMs: 5_000 });
}

function assertSysctlValue(key: string, value: string): void {
  if (!/^[\w .:-]*$/.test(value)) {
    throw new ClusterLabError('INVALID_ARGUMENT', `sysctl value ${JSON.stringify(value)} for ${key} has unexpected characters`, {
      hint: 'kernel settings take numbers or short words',
      errorClass: 'usage',
    });
  }
}

/**
 * Sets `key` to `value` unless it already has it. Returns what changed (journal it; give it to
 * {@link restoreSysctl} on stop), or undefined when nothing did.
 *
 * @example
 * ```ts
 * const change = await setSysctl(runner, 'net.ipv4.ip_nonlocal_bind', '1');
 * // … later, on stop:
 * if (change) await restoreSysctl(runner, change);
 * ```
 */
export async function setSysctl(runner: CommandRunner, key: string, value: string): Promise<SysctlChange | undefined> {
  const previous = await readSysctl(runner, key);
  if (previous === value) return undefined;
  await writeSysctl(runner, key, value);
  return { key, previous, value };
}

/**
 * {@link setSysctl} for several settings with one `cat` and one `tee` per distinct value (each
 * program start costs milliseconds on a busy node). Returns the settings that changed.
 *
 * @example
 * ```ts
 * await setSysctls(runner, { 'net.ipv4.ip_nonlocal_bind': '1', 'net/ipv4/conf/vx200/promote_secondaries': '1' });
 * ```
 */
export async function setSysctls(runner: CommandRunner, settings: Readonly<Record<string, string>>): Promise<SysctlChange[]> {
  const keys = Object.keys(settings);
  if (keys.length === 0) return [];
  for (const key of keys) assertSysctlValue(key, settings[key] as string);
  const lines = (await runner.run('cat', keys.map(sysctlPath), { timeoutMs: 5_000 })).stdout.split('\n');
  const changes = keys
    .map((key, i) => ({ key, previous: (lines[i] ?? '').trim(), value: settings[key] as string }))
    .filter((c) => c.previous !== c.value);
  for (const value of new Set(changes.map((c) => c.value))) {
    const paths = changes.filter((c) => c.value === value).map((c) => sysctlPath(c.key));
    await runner.run('tee', paths, { input: `${value}\n`, timeoutMs: 5_000 });
  }
  return changes;
}

/**
 * Puts a setting back to the value it had before {@link setSysctl} — only if it still holds the
 * value we wrote: someone who changed it since (an administrator, another program) keeps theirs.
 * A setting that is gone (the interface of a per-interface key was deleted) counts as restored.
 */
export async function restoreSysctl(runner: CommandRunner, change: SysctlChange): Promise<SysctlRestoreOutcome> {
  let current: string;
  try {
    current = await readSysctl(runner, change.key);
  } catch (error) {
    if (/No such file/i.test(String((error as { stderr?: string }).stderr ?? ''))) return 'restored';
    throw error;
  }
  if (current === change.previous) return 'already-previous';
  if (current !== change.value) return 'changed-since';
  await writeSysctl(runner, change.key, change.previous);
  return 'restored';
}
