import { runChecks } from '@cluster-lab/core';
import { nodeChecks } from '@cluster-lab/node';
import type { Command } from 'commander';
import { loadNodeView } from './node-view.js';

/** `cluster-lab health`: PASS/WARN/FAIL per check; exit 1 on any FAIL. */
export async function run(...args: unknown[]): Promise<void> {
  const { out, ...node } = await loadNodeView(args.at(-1) as Command);
  const report = await runChecks(nodeChecks(node), {
    onResult: (r) => out.check(r),
  });
  if (out.options.json) out.json({ type: 'health', ok: report.ok, counts: report.counts });
  else
    out.line(
      `\n${report.counts.PASS} passed, ${report.counts.WARN} warnings, ${report.counts.FAIL} failed${report.counts.SKIP ? `, ${report.counts.SKIP} skipped` : ''}`,
    );
  if (!report.ok) process.exitCode = 1;
}
