import { ExecaRunner } from '@cluster-lab/core';
import { checkDependencies, installMissing, keepInstalledDocker } from '@cluster-lab/node';
import type { Command } from 'commander';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput, requireRoot } from './context.js';

/** Exit code when a required dependency is missing. */
export const EXIT_MISSING_DEPENDENCY = 3;

/** `cluster-lab dependencies [--install]`. */
export async function run(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const opts = cmd.opts<{ install?: boolean }>();
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags>();
  const out = makeOutput(flags);
  const { config } = await loadEffectiveConfig(flags, out);
  const runner = new ExecaRunner();
  let statuses = await keepInstalledDocker(await checkDependencies({ config, runner }));
  if (opts.install && statuses.some((s) => !s.ok && s.aptPackage)) {
    requireRoot('dependencies --install');
    const installed = await installMissing(runner, statuses);
    out.line(`installed: ${installed.join(', ')}`);
    statuses = await keepInstalledDocker(await checkDependencies({ config, runner }));
  }
  for (const s of statuses) {
    const status = s.ok ? 'PASS' : s.required ? 'FAIL' : 'WARN';
    const report = {
      id: s.name,
      title: `${s.name} (${s.neededFor})`,
      status,
      detail: s.detail,
      durationMs: 0,
      ...(s.hint ? { hint: s.hint } : {}),
    } as const;
    out.check(report);
  }
  const missing = statuses.filter((s) => !s.ok && s.required);
  if (missing.length > 0) {
    if (!out.options.json) out.line(`\n${missing.length} required dependency(ies) missing`);
    process.exitCode = EXIT_MISSING_DEPENDENCY;
  }
}
