import { access, readFile } from 'node:fs/promises';
import { release } from 'node:os';

/** Whether a kernel feature is usable now, loadable as a module, or absent. */
export type KernelFeatureState = 'available' | 'loadable' | 'missing';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Detects a kernel feature by its module name (`8021q`, `vxlan`) from /sys/module (loaded or
 * built in), then the module tree of the running kernel (loadable). Reads files only: probing
 * by creating a link would change the machine.
 */
export async function kernelFeature(module: string, root = ''): Promise<KernelFeatureState> {
  if (await exists(`${root}/sys/module/${module}`)) return 'available';
  if (module === '8021q' && (await exists(`${root}/proc/net/vlan`))) return 'available';
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
