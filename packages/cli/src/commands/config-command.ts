import type { Command } from 'commander';
import { stringify } from 'yaml';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput } from './context.js';

/** `cluster-lab config check`: validate and report every problem. */
export async function runCheck(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags>();
  const out = makeOutput(flags);
  const { config: cfg, sources } = await loadEffectiveConfig(flags, out);
  if (out.options.json) out.json({ ok: true, sources, role: cfg.role, backend: cfg.network.backend });
  else
    out.line(
      `configuration OK (${sources.join(' ← ')}): role ${cfg.role}, backend ${cfg.network.backend} on ${cfg.interface}, subnet ${cfg.subnet}`,
    );
}

/** `cluster-lab config print`: the effective configuration with defaults. */
export async function runPrint(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags>();
  const out = makeOutput(flags);
  const { config: cfg, sources } = await loadEffectiveConfig(flags, out);
  // The config itself, re-usable as a config file: no timestamp.
  if (out.options.json) out.json(cfg, false);
  else out.options.stdout.write(`# effective configuration (${sources.join(' ← ')})\n${stringify(cfg)}`);
}
