/** A serialisable error summary carried by events. */
export interface ErrorSummary {
  code: string;
  message: string;
  hint?: string;
}

/**
 * Progress events emitted by steps and roles. The CLI renders them as progress lines on a TTY
 * and as one JSON object per line with `--json`. Secrets never appear in events.
 */
export type ProgressEvent =
  | { type: 'step-started'; step: string; title: string }
  | { type: 'step-finished'; step: string; title: string; durationMs: number; detail?: string }
  | { type: 'step-skipped'; step: string; title: string; reason: string }
  | { type: 'step-failed'; step: string; title: string; durationMs: number; error: ErrorSummary }
  | { type: 'rollback-started'; reason: string; changes: number }
  | { type: 'undo'; kind: string; description: string; ok: boolean; error?: string }
  | { type: 'rollback-finished'; durationMs: number; failed: number }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; message: string; source?: string };

/** Receives {@link ProgressEvent}s. */
export type EventSink = (event: ProgressEvent) => void;

/** A sink that drops everything. */
export const ignoreEvents: EventSink = () => {};
