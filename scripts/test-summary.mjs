// Prints the plain summary line CI reads, from vitest's JSON report.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log('0 passed, 1 failed, 0 skipped');
  console.error(`test-summary: no test report at ${file}: ${error.message}`);
  process.exit(1);
}
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
// Tests that passed only on their retry are counted as passed; say so right above the summary.
const flaky = (() => {
  try {
    return readFileSync(process.argv[3] ?? '', 'utf8')
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
})();
if (flaky.length > 0) console.log(`(${flaky.length} of the passed test(s) passed only on a retry: ${flaky.join('; ')})`);
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
if (report.numTotalTests === 0) {
  console.error('test-summary: no test ran');
  process.exit(1);
}
if (process.env.CI === 'true' && skipped > 0) {
  console.error(`test-summary: ${skipped} test(s) skipped under CI=true; every layer must run in CI`);
  process.exit(1);
}
