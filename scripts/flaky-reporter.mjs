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
    this.flaky.push(`${testCase.project.name} ${testCase.module.relativeModuleId} > ${testCase.fullName}`);
  }

  onTestRunEnd() {
    const file = process.env.FLAKY_TESTS_FILE;
    if (file) writeFileSync(file, this.flaky.map((t) => `${t}\n`).join(''));
    if (this.flaky.length === 0) return;
    console.log(`\nFLAKY: ${this.flaky.length} test(s) failed once and passed on the retry:`);
    for (const t of this.flaky) console.log(`  ${t}`);
  }
}
