import { ConfigError, ExecaRunner, hostConfigProblems, IpRoute2, OPEN_SECURITY_HINT, OPEN_SECURITY_WARNING } from '@cluster-lab/core';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput } from './context.js';

/**
 * `cluster-lab config check`: validate and report every problem — the file itself, then (unless
 * `--file-only`) this machine: the uplink exists, the secret file is usable, an absolute
 * `consul.binary` is executable.
 */
export async function runCheck(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags & { fileOnly?: boolean }>();
  const out = makeOutput(flags);
  const { config: cfg, sources } = await loadEffectiveConfig(flags, out);
  if (!flags.fileOnly) {
    const problems = await hostConfigProblems(cfg, new IpRoute2(new ExecaRunner()), { secret: true });
    if (problems.length > 0) throw new ConfigError(problems, sources.length > 1 ? sources.slice(1).join(' + ') : undefined);
  }
  if (cfg.security === 'open') out.warn(`${OPEN_SECURITY_WARNING} (${OPEN_SECURITY_HINT})`);
  if (out.options.json) out.json({ ok: true, sources, role: cfg.role, backend: cfg.network.backend, security: cfg.security });
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
