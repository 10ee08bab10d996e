import { describe, expect, it } from 'vitest';
import { ClusterLabError } from '../errors/cluster-lab-error.js';
import { type Check, type CheckReport, fail, pass, runChecks, skip, warn } from './check.js';

const check = (id: string, run: Check['run']): Check => ({ id, title: `check ${id}`, run });

describe('runChecks', () => {
  it('runs checks in order and counts results; ok unless something FAILs', async () => {
    const streamed: string[] = [];
    const report = await runChecks(
      [
        check('link', async () => pass('vx200 UP')),
        check('dhcp', async () => warn('2 leases', 'expected 3')),
        check('consul', async () => skip('consul disabled')),
      ],
      { onResult: (r) => streamed.push(`${r.id}:${r.status}`) },
    );
    expect(report.ok).toBe(true);
    expect(report.counts).toEqual({ PASS: 1, WARN: 1, FAIL: 0, SKIP: 1 });
    expect(streamed).toEqual(['link:PASS', 'dhcp:WARN', 'consul:SKIP']);
    expect(report.checks[1]).toMatchObject({ id: 'dhcp', title: 'check dhcp', status: 'WARN', detail: '2 leases', hint: 'expected 3' });
    expect(report.checks[0]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(report.checks[0]).not.toHaveProperty('hint');
  });

  it('turns a FAIL into ok: false', async () => {
    const report = await runChecks([
      check('a', async () => fail('no leader', 'start a node with role: leader')),
      check('b', async () => pass('fine')),
    ]);
    expect(report.ok).toBe(false);
    expect(report.counts.FAIL).toBe(1);
    expect(report.checks[0]).toMatchObject({ status: 'FAIL', detail: 'no leader', hint: 'start a node with role: leader' });
  });

  it('turns a thrown error into a FAIL (with the hint of a ClusterLabError) and runs the next check', async () => {
    const report = await runChecks([
      check('a', async () => {
        throw new ClusterLabError('LINK_NOT_FOUND', 'interface "vx200" does not exist', { hint: 'run cluster-lab start' });
      }),
      check('b', () => {
        throw new Error('synchronous throw');
      }),
      check('c', async () => {
        throw undefined;
      }),
      check('d', async () => pass('still runs')),
    ]);
    expect(report.checks.map((c) => [c.status, c.detail, c.hint])).toEqual([
      ['FAIL', 'interface "vx200" does not exist', 'run cluster-lab start'],
      ['FAIL', 'synchronous throw', undefined],
      ['FAIL', 'undefined', undefined],
      ['PASS', 'still runs', undefined],
    ]);
    expect(report.counts).toEqual({ PASS: 1, WARN: 0, FAIL: 3, SKIP: 0 });
  });

  it('FAILs a check that overruns its timeout and aborts its signal', async () => {
    let aborted = false;
    const reports: CheckReport[] = [];
    const report = await runChecks(
      [
        check('hang', (signal) => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
          return new Promise(() => {});
        }),
        check('next', async () => pass('ok')),
      ],
      { timeoutMs: 50, onResult: (r) => reports.push(r) },
    );
    expect(report.checks[0]).toMatchObject({ status: 'FAIL', detail: 'no answer within 50 ms', hint: 'the component may be hung' });
    expect(report.checks[0]?.durationMs).toBeGreaterThanOrEqual(45);
    expect(aborted).toBe(true);
    expect(report.checks[1]?.status).toBe('PASS');
    expect(reports).toHaveLength(2);
  });

  it('handles an empty list', async () => {
    expect(await runChecks([])).toEqual({ ok: true, checks: [], counts: { PASS: 0, WARN: 0, FAIL: 0, SKIP: 0 } });
  });

  it('result helpers omit an absent hint', () => {
    expect(pass('x')).toEqual({ status: 'PASS', detail: 'x' });
    expect(warn('x')).toEqual({ status: 'WARN', detail: 'x' });
    expect(fail('x')).toEqual({ status: 'FAIL', detail: 'x' });
    expect(fail('x', 'h')).toEqual({ status: 'FAIL', detail: 'x', hint: 'h' });
    expect(skip('x')).toEqual({ status: 'SKIP', detail: 'x' });
  });
});
