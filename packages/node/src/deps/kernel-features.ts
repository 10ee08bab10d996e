import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { pathExists } from '@cluster-lab/core';

/** Whether a kernel feature is usable now, loadable as a module, or absent. */
export type KernelFeatureState = 'available' | 'loadable' | 'missing';

/** Kernel config symbol of each feature we check (for /proc/config.gz). */
const CONFIG_SYMBOLS: Record<string, string> = { '8021q': 'CONFIG_VLAN_8021Q', vxlan: 'CONFIG_VXLAN' };

/**
 * Detects a kernel feature by its module name (`8021q`, `vxlan`) from /sys/module (loaded or
 * built in), the running kernel's config (/proc/config.gz: `=y` built in, `=m` loadable), then
 * the module tree (loadable). Reads files only: probing by creating a link would change the
 * machine.
 */
export async function kernelFeature(module: string, root = ''): Promise<KernelFeatureState> {
  if (await pathExists(`${root}/sys/module/${module}`)) return 'available';
  if (module === '8021q' && (await pathExists(`${root}/proc/net/vlan`))) return 'available';
  const symbol = CONFIG_SYMBOLS[module];
  if (symbol) {
    try {
      const config = gunzipSync(await readFile(`${root}/proc/config.gz`)).toString('utf8');
      const value = new RegExp(`^${symbol}=(y|m)$`, 'm').exec(config)?.[1];
      if (value === 'y') return 'available';
      if (value === 'm') return 'loadable';
      if (new RegExp(`^# ${symbol} is not set$`, 'm').test(config)) return 'missing';
    } catch {
      // no /proc/config.gz (CONFIG_IKCONFIG_PROC off): fall through to the module tree
    }
  }
  const dir = `${root}/lib/modules/${release()}`;
  try {
    const builtin = await readFile(`${dir}/modules.builtin`, 'utf8');
    if (builtin.split('\n').some((l) => l.endsWith(`/${module}.ko`))) return 'available';
  } catch {
    // no module tree (containers, some VMs)
  }
  try {
    const dep = await readFile(`${dir}/modules.dep`, 'utf8');
    if (dep.split('\n').some((l) => new RegExp(`/${module}\\.ko(\\.[gx]z|\\.zst)?:`).test(l))) return 'loadable';
  } catch {
    // no module tree
  }
  return 'missing';
}
