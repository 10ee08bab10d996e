import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Bundles a TypeScript program (e.g. `vlan.vm-guest.ts`) with the workspace packages' current
 * source into one ESM file in `dir`, so the VM's plain `node` runs exactly the code under test —
 * no prior build, no stale dist/. Returns the file's name inside `dir`.
 */
export async function bundleForVm(entry: URL, dir: string): Promise<string> {
  const name = `${basename(fileURLToPath(entry), '.ts')}.mjs`;
  await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    conditions: ['source'],
    outfile: join(dir, name),
    logLevel: 'error',
    // execa's CommonJS dependencies call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return name;
}
