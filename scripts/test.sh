#!/usr/bin/env bash
# Installs everything and runs the whole suite: typecheck, lint, unit, integration (root) and
# e2e (root) tests. Ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --test || exit $?
source "$ROOT/scripts/env.sh"

status=0
# Scratch files of this script; .tools/ exists only where setup provisioned Node into it.
mkdir -p "$ROOT/.tools"
echo "== typecheck" && npm run --silent typecheck || status=1
echo "== lint" && npm run --silent lint || status=1
echo "== import graph (no loop, no arrow back up)" && node scripts/check-import-graph.mjs || status=1
echo "== docs (typedoc, warnings are errors)" && npm run --silent docs >/dev/null || status=1
echo "== config reference is up to date" && node scripts/config-reference.mjs --check docs/configuration.md || status=1
echo "== packages pack cleanly" && for p in packages/*/; do
  npm pack --dry-run --json --workspace "$p" >/dev/null 2>"$ROOT/.tools/pack.err" || { cat "$ROOT/.tools/pack.err"; status=1; }
done

echo "== test VM for the vm tests (QEMU, Debian's kernel)" && bash scripts/setup-vm.sh || status=1
report="$ROOT/.tools/test-report.json"
export FLAKY_TESTS_FILE="$ROOT/.tools/flaky-tests.txt"
rm -f "$report" "$FLAKY_TESTS_FILE"
echo "== tests (unit, integration, e2e)"
npx vitest run --reporter=default --reporter=json --reporter=./scripts/flaky-reporter.mjs --outputFile.json="$report" "$@" || status=1
node scripts/test-summary.mjs "$report" "$FLAKY_TESTS_FILE" || status=1
exit $status
