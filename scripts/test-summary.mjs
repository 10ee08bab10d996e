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
// A test file whose setup (beforeAll) failed reports its tests as skipped: they did not run
// because of a failure, so they count as failed, not skipped.
const notRunInFailedFiles = (report.testResults ?? [])
  .filter((file) => file.status === 'failed')
  .flatMap((file) => file.assertionResults ?? [])
  .filter((test) => test.status === 'pending' || test.status === 'skipped' || test.status === 'todo').length;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0) - notRunInFailedFiles;
const failed =
  report.numFailedTests +
  notRunInFailedFiles +
  (report.numFailedTestSuites > 0 && report.numFailedTests + notRunInFailedFiles === 0 ? 1 : 0);
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
console.log(`${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
if (report.numTotalTests === 0) {
  console.error('test-summary: no test ran');
  process.exit(1);
}
if (process.env.CI === 'true' && skipped > 0) {
  console.error(`test-summary: ${skipped} test(s) skipped under CI=true; every layer must run in CI`);
  process.exit(1);
}
if (failed > 0) process.exit(1);
