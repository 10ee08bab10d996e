/** Outcome of one health check. */
export type CheckStatus = 'PASS' | 'WARN' | 'FAIL' | 'SKIP';

/** What a check found. */
export interface CheckResult {
  status: CheckStatus;
  /** One line: what was observed. */
  detail: string;
  /** How to fix it (for WARN/FAIL). */
  hint?: string;
}

/** A named health check, e.g. "cluster link is up". */
export interface Check {
  id: string;
  title: string;
  /** Probes once; should stop when `signal` aborts (the runner's timeout). */
  run(signal: AbortSignal): Promise<CheckResult>;
}

/** A check's result with its identity and duration. */
export interface CheckReport extends CheckResult {
  id: string;
  title: string;
  durationMs: number;
}

/** All results; `ok` is false when any check FAILed. */
export interface HealthReport {
  ok: boolean;
  checks: CheckReport[];
  counts: Record<CheckStatus, number>;
}

/** A PASS result (these shorthands build {@link CheckResult}s). */
export const pass = (detail: string): CheckResult => ({ status: 'PASS', detail });
/** A WARN result: working, but something deserves attention. */
export const warn = (detail: string, hint?: string): CheckResult => (hint ? { status: 'WARN', detail, hint } : { status: 'WARN', detail });
/** A FAIL result, with how to fix it. */
export const fail = (detail: string, hint?: string): CheckResult => (hint ? { status: 'FAIL', detail, hint } : { status: 'FAIL', detail });
/** A SKIP result: the check does not apply (e.g. the component is disabled). */
export const skip = (detail: string): CheckResult => ({ status: 'SKIP', detail });

/** Options for {@link runChecks}. */
export interface RunChecksOptions {
  /** Per-check timeout; a check that runs over FAILs. Default 10 s. */
  timeoutMs?: number;
  /** Called as each check completes (for streaming output). */
  onResult?: (report: CheckReport) => void;
}

/**
 * Runs checks concurrently and reports them in order; a check that throws or times out becomes a FAIL with the error as detail,
 * so one broken probe never hides the others.
 *
 * @example
 * ```ts
 * const report = await runChecks([{ id: 'link', title: 'cluster link up', run: async () => pass('eth0.200 UP') }]);
 * if (!report.ok) process.exitCode = 1;
 * ```
 */
export async function runChecks(checks: readonly Check[], options: RunChecksOptions = {}): Promise<HealthReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  // Checks are independent reads (ARP probes, HTTP and Docker API calls): run them all at once so
  // `health` takes as long as its slowest check, and report them in their given order.
  const pending = checks.map((check) => runOne(check, timeoutMs));
  const reports: CheckReport[] = [];
  for (const report of pending) {
    const r = await report;
    reports.push(r);
    options.onResult?.(r);
  }
  const counts: Record<CheckStatus, number> = { PASS: 0, WARN: 0, FAIL: 0, SKIP: 0 };
  for (const r of reports) counts[r.status] += 1;
  return { ok: counts.FAIL === 0, checks: reports, counts };
}

async function runOne(check: Check, timeoutMs: number): Promise<CheckReport> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  let result: CheckResult;
  try {
    result = await Promise.race([
      check.run(signal),
      new Promise<CheckResult>((resolve) => {
        signal.addEventListener('abort', () => resolve(fail(`no answer within ${timeoutMs} ms`, 'the component may be hung')), {
          once: true,
        });
      }),
    ]);
  } catch (error) {
    const hint =
      typeof error === 'object' && error !== null && typeof (error as { hint?: unknown }).hint === 'string'
        ? (error as { hint: string }).hint
        : undefined;
    result = fail(error instanceof Error ? error.message : String(error), hint);
  }
  return { id: check.id, title: check.title, ...result, durationMs: Math.round(performance.now() - started) };
}
