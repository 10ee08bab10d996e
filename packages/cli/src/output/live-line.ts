import yoctoSpinner, { type Spinner } from 'yocto-spinner';

/** A terminal stream as the live line needs it (a `tty.WriteStream`, or a fake one in tests). */
export type LiveStream = NodeJS.WritableStream & { isTTY?: boolean };

/** How often the elapsed time is redrawn. */
const TICK_MS = 100;

const open = new Set<LiveLine>();

/**
 * The steps running right now, as one line redrawn in place on a terminal:
 * `⠋ Leader election 1.2 s` (several steps: `DHCP server 0.3 s · Consul agent 0.1 s`). Anything
 * else written to the stream meanwhile lands above it (yocto-spinner clears and redraws around
 * each write). Only for a terminal: elsewhere the caller prints plain lines instead.
 */
export class LiveLine {
  private readonly running = new Map<string, { title: string; started: number }>();
  private spinner: Spinner | undefined;
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly stream: LiveStream) {}

  /** Shows `title` with a running clock until {@link end} is called with the same `id`. */
  start(id: string, title: string): void {
    this.running.set(id, { title, started: performance.now() });
    if (!this.spinner) {
      // The commands handle SIGINT/SIGTERM themselves (start rolls back): the spinner must not exit.
      this.spinner = yoctoSpinner({ stream: this.stream as never, handleSignals: false, text: this.text() }).start();
      this.ticker = setInterval(() => this.redraw(), TICK_MS);
      this.ticker.unref();
      open.add(this);
    } else this.redraw();
  }

  /** Removes the step; the line disappears when no step is left. */
  end(id: string): void {
    if (!this.running.delete(id)) return;
    if (this.running.size === 0) this.close();
    else this.redraw();
  }

  /** Clears the line and stops redrawing (idempotent). */
  close(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.spinner?.stop();
    this.spinner = undefined;
    this.running.clear();
    open.delete(this);
  }

  private redraw(): void {
    if (this.spinner) this.spinner.text = this.text();
  }

  private text(): string {
    const now = performance.now();
    return [...this.running.values()].map((s) => `${s.title} ${((now - s.started) / 1000).toFixed(1)} s`).join(' · ');
  }
}

/** Closes every live line still open, e.g. when a command ends by an error between two events. */
export function closeLiveLines(): void {
  for (const line of [...open]) line.close();
}
