import { ExecaRunner, IpRoute2, Journal, runChecks } from '@cluster-lab/core';
import type { Command } from 'commander';
import { journalPath } from '../boot/start-node.js';
import { nodeChecks } from '../health/node-checks.js';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput } from './context.js';

/** `cluster-lab health`: PASS/WARN/FAIL per check; exit 1 on any FAIL. */
export async function run(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GlobalFlags & ConfigFlags>();
  const out = makeOutput(flags);
  const { config } = await loadEffectiveConfig(flags, out);
  const runner = new ExecaRunner();
  const journal = await Journal.open(journalPath(config));
  const doc = journal.exists ? { status: journal.status, facts: journal.facts } : undefined;
  const report = await runChecks(nodeChecks({ config, runner, network: new IpRoute2(runner), journal: doc }), {
    onResult: (r) => out.check(r),
  });
  if (out.options.json) out.json({ type: 'health', ok: report.ok, counts: report.counts });
  else
    out.line(
      `\n${report.counts.PASS} passed, ${report.counts.WARN} warnings, ${report.counts.FAIL} failed${report.counts.SKIP ? `, ${report.counts.SKIP} skipped` : ''}`,
    );
  if (!report.ok) process.exitCode = 1;
}
