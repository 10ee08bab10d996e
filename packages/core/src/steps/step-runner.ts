import { ClusterLabError, describeError, isClusterLabError } from '../errors/cluster-lab-error.js';
import type { EventSink, ProgressEvent } from '../events/progress-event.js';
import type { Journal, JournalEntry } from './journal.js';

/** Undoes one kind of journal entry. Must succeed when the change is already gone. */
export type UndoHandler = (entry: JournalEntry) => Promise<void>;

/** Passed to each step. */
export interface StepContext {
  /** Records a change so rollback and `stop` can undo it (kind must have an undo handler). */
  record(kind: string, key: string, data: Record<string, unknown>): Promise<void>;
  /**
   * Aborts on Ctrl-C/SIGTERM. Pass it to every long wait (`runner.run(…, { signal })`). The runner
   * waits for a step to settle before rolling back, so nothing is created behind the rollback's
   * back; a step that ignores the signal delays the rollback until it finishes.
   */
  readonly signal: AbortSignal;
  /** Emits a progress event (e.g. a `log` line) to the runner's sink. */
  emit(event: ProgressEvent): void;
}

/** Options for {@link StepRunner}. */
export interface StepRunnerOptions {
  journal: Journal;
  /** Undo handlers by journal entry kind. */
  undo: Record<string, UndoHandler>;
  onEvent?: EventSink;
  signal?: AbortSignal;
}

/** Thrown when a run is aborted (Ctrl-C, SIGTERM or a caller's AbortSignal). */
export class AbortedError extends ClusterLabError {
  constructor(step?: string) {
    super('ABORTED', `aborted${step ? ` during "${step}"` : ''}`, { hint: 'changes made so far were rolled back' });
    this.name = 'AbortedError';
  }
}

/**
 * Runs named steps, journals each change they make, and rolls back in reverse order on failure
 * or abort. `rollback()` is also what `stop` uses: it replays the journal backwards.
 *
 * @example
 * ```ts
 * const steps = new StepRunner({ journal, undo: { 'address-added': (e) => ip.delAddress(e.data.dev, e.data.cidr) } });
 * await steps.run(async () => {
 *   await steps.step('leader-address', 'Claim leader address', async (ctx) => {
 *     if (await ip.addAddress('eth0.200', '192.168.200.1/24')) {
 *       await ctx.record('address-added', 'eth0.200 192.168.200.1/24', { dev: 'eth0.200', cidr: '192.168.200.1/24' });
 *     }
 *   });
 * });
 * ```
 */
export class StepRunner {
  private readonly journal: Journal;
  private readonly undo: Record<string, UndoHandler>;
  private readonly emit: EventSink;
  readonly signal: AbortSignal;

  constructor(options: StepRunnerOptions) {
    this.journal = options.journal;
    this.undo = options.undo;
    this.emit = options.onEvent ?? (() => {});
    this.signal = options.signal ?? new AbortController().signal;
  }

  /** Runs one step, emitting started/finished/failed events with its duration. */
  async step<T>(step: string, title: string, fn: (ctx: StepContext) => Promise<T>, detail?: (result: T) => string | undefined): Promise<T> {
    if (this.signal.aborted) throw new AbortedError(step);
    this.emit({ type: 'step-started', step, title });
    const started = performance.now();
    const ctx: StepContext = {
      record: async (kind, key, data) => {
        if (!this.undo[kind]) throw new Error(`no undo handler for journal kind "${kind}"`);
        await this.journal.record({ kind, key, step, data });
      },
      signal: this.signal,
      emit: this.emit,
    };
    try {
      const result = await fn(ctx);
      if (this.signal.aborted) throw new AbortedError(step);
      const text = detail?.(result);
      this.emit({
        type: 'step-finished',
        step,
        title,
        durationMs: Math.round(performance.now() - started),
        ...(text ? { detail: text } : {}),
      });
      return result;
    } catch (error) {
      const wrapped = this.signal.aborted && !(error instanceof AbortedError) ? new AbortedError(step) : error;
      this.emit({
        type: 'step-failed',
        step,
        title,
        durationMs: Math.round(performance.now() - started),
        error: summarise(wrapped),
      });
      throw wrapped;
    }
  }

  /** Runs `body`; on any error or abort rolls back everything journaled and rethrows. */
  async run<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      await this.rollback(describeError(error));
      throw error;
    }
  }

  /**
   * Undoes every journaled change, newest first. Keeps going when one undo fails (so one stuck
   * resource does not strand the rest) and returns the failures; entries that failed stay in
   * the journal for a later retry.
   */
  async rollback(reason: string): Promise<{ failed: JournalEntry[] }> {
    const started = performance.now();
    const entries = [...this.journal.entries].reverse();
    this.emit({ type: 'rollback-started', reason, changes: entries.length });
    const failed: JournalEntry[] = [];
    for (const entry of entries) {
      const handler = this.undo[entry.kind];
      const description = `${entry.kind} ${entry.key}`;
      try {
        if (!handler) throw new Error(`no undo handler for "${entry.kind}"`);
        await handler(entry);
        await this.journal.forget(entry.kind, entry.key);
        this.emit({ type: 'undo', kind: entry.kind, description, ok: true });
      } catch (error) {
        failed.push(entry);
        this.emit({ type: 'undo', kind: entry.kind, description, ok: false, error: describeError(error) });
      }
    }
    this.emit({ type: 'rollback-finished', durationMs: Math.round(performance.now() - started), failed: failed.length });
    return { failed };
  }
}

function summarise(error: unknown): { code: string; message: string; hint?: string } {
  if (isClusterLabError(error))
    return error.hint ? { code: error.code, message: error.message, hint: error.hint } : { code: error.code, message: error.message };
  return { code: 'UNEXPECTED', message: describeError(error) };
}
