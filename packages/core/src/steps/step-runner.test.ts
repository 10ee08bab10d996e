import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterLabError } from '../errors/cluster-lab-error.js';
import type { ProgressEvent } from '../events/progress-event.js';
import { Journal, type JournalEntry } from './journal.js';
import { AbortedError, StepRunner } from './step-runner.js';

let dir: string;
let journal: Journal;
let events: ProgressEvent[];
let undone: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-core-steps-'));
  journal = await Journal.open(join(dir, 'journal.json'));
  events = [];
  undone = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const undo = (entry: JournalEntry) => {
  undone.push(`${entry.kind} ${entry.key}`);
  return Promise.resolve();
};

function makeRunner(options: { signal?: AbortSignal; failOn?: string } = {}): StepRunner {
  const handler = async (entry: JournalEntry) => {
    if (entry.key === options.failOn) throw new Error(`cannot undo ${entry.key}`);
    await undo(entry);
  };
  return new StepRunner({
    journal,
    undo: { 'link-created': handler, 'address-added': handler },
    onEvent: (e) => events.push(e),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

const types = () => events.map((e) => e.type);

describe('StepRunner', () => {
  it('runs steps, emitting started/finished with durations and an optional detail', async () => {
    const steps = makeRunner();
    const result = await steps.step(
      'link',
      'Create cluster link',
      async (ctx) => {
        await ctx.record('link-created', 'vx200', { name: 'vx200' });
        await new Promise((r) => setTimeout(r, 20));
        return 'vx200';
      },
      (name) => `created ${name}`,
    );
    expect(result).toBe('vx200');
    expect(events[0]).toEqual({ type: 'step-started', step: 'link', title: 'Create cluster link' });
    expect(events[1]).toMatchObject({ type: 'step-finished', step: 'link', title: 'Create cluster link', detail: 'created vx200' });
    expect((events[1] as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(15);
    expect(journal.entries.map((e) => [e.kind, e.key, e.step, e.data])).toEqual([['link-created', 'vx200', 'link', { name: 'vx200' }]]);
    await steps.step('noop', 'Nothing', async () => undefined);
    expect(events.at(-1)).not.toHaveProperty('detail');
  });

  it('refuses to journal a kind it cannot undo', async () => {
    const steps = makeRunner();
    await expect(steps.step('x', 'X', (ctx) => ctx.record('mystery', 'k', {}))).rejects.toThrow(
      'no undo handler for journal kind "mystery"',
    );
    expect(journal.entries).toEqual([]);
  });

  it('on failure rolls back every journaled change in reverse order and rethrows', async () => {
    const steps = makeRunner();
    const boom = new ClusterLabError('DHCP_FAILED', 'dnsmasq exited', { hint: 'see the log' });
    const error = await steps
      .run(async () => {
        await steps.step('link', 'Create link', async (ctx) => ctx.record('link-created', 'vx200', {}));
        await steps.step('addr', 'Add address', async (ctx) => {
          await ctx.record('address-added', '192.168.200.1/24', {});
          await ctx.record('address-added', '192.168.200.2/24', {});
        });
        await steps.step('dhcp', 'Start DHCP', async () => {
          throw boom;
        });
      })
      .catch((e: unknown) => e);
    expect(error).toBe(boom);
    expect(undone).toEqual(['address-added 192.168.200.2/24', 'address-added 192.168.200.1/24', 'link-created vx200']);
    expect(journal.entries).toEqual([]);
    expect(types()).toEqual([
      'step-started',
      'step-finished',
      'step-started',
      'step-finished',
      'step-started',
      'step-failed',
      'rollback-started',
      'undo',
      'undo',
      'undo',
      'rollback-finished',
    ]);
    expect(events[5]).toMatchObject({
      type: 'step-failed',
      step: 'dhcp',
      error: { code: 'DHCP_FAILED', message: 'dnsmasq exited', hint: 'see the log' },
    });
    expect(events[6]).toEqual({ type: 'rollback-started', reason: 'dnsmasq exited', changes: 3 });
    expect(events[7]).toEqual({ type: 'undo', kind: 'address-added', description: 'address-added 192.168.200.2/24', ok: true });
    expect(events.at(-1)).toMatchObject({ type: 'rollback-finished', failed: 0 });
  });

  it('summarises unexpected errors with code UNEXPECTED', async () => {
    const steps = makeRunner();
    await expect(
      steps.step('x', 'X', async () => {
        throw new TypeError('oops');
      }),
    ).rejects.toThrow('oops');
    expect(events.at(-1)).toMatchObject({ type: 'step-failed', error: { code: 'UNEXPECTED', message: 'oops' } });
  });

  it('keeps rolling back when one undo fails, and keeps the failed entry for a retry', async () => {
    const steps = makeRunner({ failOn: 'b' });
    for (const key of ['a', 'b', 'c']) await journal.record({ kind: 'link-created', key, step: 's', data: {} });
    await journal.record({ kind: 'unknown-kind', key: 'z', step: 's', data: {} });
    const { failed } = await steps.rollback('stop requested');
    expect(undone).toEqual(['link-created c', 'link-created a']);
    expect(failed.map((e) => e.key)).toEqual(['z', 'b']);
    expect(journal.entries.map((e) => e.key)).toEqual(['b', 'z']);
    const undoEvents = events.filter((e) => e.type === 'undo');
    expect(undoEvents).toEqual([
      { type: 'undo', kind: 'unknown-kind', description: 'unknown-kind z', ok: false, error: 'no undo handler for "unknown-kind"' },
      { type: 'undo', kind: 'link-created', description: 'link-created c', ok: true },
      { type: 'undo', kind: 'link-created', description: 'link-created b', ok: false, error: 'cannot undo b' },
      { type: 'undo', kind: 'link-created', description: 'link-created a', ok: true },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'rollback-finished', failed: 2 });
    // A second stop retries what is left.
    const retry = makeRunner();
    expect((await retry.rollback('retry')).failed.map((e) => e.key)).toEqual(['z']);
  });

  it('aborting mid-step fails that step with AbortedError and rolls back', async () => {
    const controller = new AbortController();
    const steps = makeRunner({ signal: controller.signal });
    let reachedSecond = false;
    const error = await steps
      .run(async () => {
        await steps.step('link', 'Create link', async (ctx) => ctx.record('link-created', 'vx200', {}));
        await steps.step('wait', 'Wait for leader', async (ctx) => {
          await ctx.record('address-added', '192.168.200.7/24', {});
          setTimeout(() => controller.abort(), 10);
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
        });
        reachedSecond = true;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect(error).toMatchObject({ code: 'ABORTED', message: 'aborted during "wait"' });
    expect(reachedSecond).toBe(false);
    expect(undone).toEqual(['address-added 192.168.200.7/24', 'link-created vx200']);
    expect(events.find((e) => e.type === 'step-failed')).toMatchObject({ step: 'wait', error: { code: 'ABORTED' } });
  });

  it('a step whose work throws because of the abort reports AbortedError, not the inner error', async () => {
    const controller = new AbortController();
    const steps = makeRunner({ signal: controller.signal });
    const error = await steps
      .step('probe', 'Probe', async (ctx) => {
        controller.abort();
        ctx.signal.throwIfAborted();
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
  });

  it('does not start a step after an abort', async () => {
    const controller = new AbortController();
    controller.abort();
    const steps = makeRunner({ signal: controller.signal });
    let ran = false;
    await expect(
      steps.step('x', 'X', async () => {
        ran = true;
      }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(ran).toBe(false);
    expect(events).toEqual([]);
  });

  it('returns the body result when nothing fails', async () => {
    const steps = makeRunner();
    expect(await steps.run(async () => 42)).toBe(42);
    expect(types()).toEqual([]);
  });
});
