// A vitest reporter that lists every test which passed only after a retry. The root layers
// (integration, e2e) retry a failed test once — they share one kernel, two cores and real
// daemons with timing of their own — and this keeps such a test visible in every run instead of
// hiding it inside the pass count. The list goes to stdout and to the file named by
// FLAKY_TESTS_FILE (read by scripts/test-summary.mjs); not a CLUSTER_LAB_* name, which the
// CLI under test would read as configuration.
import { writeFileSync } from 'node:fs';

export default class FlakyReporter {
  flaky = [];

  onTestCaseResult(testCase) {
    if (!testCase.diagnostic()?.flaky) return;
    // A passed test keeps the errors of its failed attempts: name the first, it is the clue.
    const first = testCase.result().errors?.[0];
    const why = first ? ` — first attempt: ${firstLine(first.message ?? String(first))}` : '';
    this.flaky.push(`${testCase.project.name} ${testCase.module.relativeModuleId} > ${testCase.fullName}${why}`);
  }

  onTestRunEnd() {
    const file = process.env.FLAKY_TESTS_FILE;
    if (file) writeFileSync(file, this.flaky.map((t) => `${t}\n`).join(''));
    if (this.flaky.length === 0) return;
    console.log(`\nFLAKY: ${this.flaky.length} test(s) failed once and passed on the retry:`);
    for (const t of this.flaky) console.log(`  ${t}`);
  }
}

function firstLine(text) {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
