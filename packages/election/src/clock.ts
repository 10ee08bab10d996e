/**
 * Time source of the election. The real one is {@link systemClock}; tests pass a
 * {@link VirtualClock} so thousands of simulated elections run in milliseconds.
 */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale (only differences are used). */
  now(): number;
  /** Resolves after `ms` milliseconds; rejects with the signal's reason when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `performance.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

/**
 * A discrete-event {@link Clock} for tests: time stands still until {@link VirtualClock.run}
 * advances it to the next pending timer, after every pending promise callback has run. Only use
 * it with code whose waiting all goes through this clock (fakes, not real sockets or processes).
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const result = await clock.run(electLeader({ …, clock }));
 * clock.now(); // simulated milliseconds the election took
 * ```
 */
export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = this.schedule(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = () => {
        this.cancel(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs `fn` after `ms` simulated milliseconds. Returns a handle for {@link VirtualClock.cancel}. */
  schedule(ms: number, fn: () => void): object {
    const timer: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fire: fn };
    // Keep the list sorted by (at, seq): insertion from the back is cheap because most new timers are the latest.
    let i = this.timers.length;
    while (i > 0 && (this.timers[i - 1]!.at > timer.at || (this.timers[i - 1]!.at === timer.at && this.timers[i - 1]!.seq > timer.seq)))
      i--;
    this.timers.splice(i, 0, timer);
    return timer;
  }

  /** Cancels a timer from {@link VirtualClock.schedule}; cancelling a fired timer does nothing. */
  cancel(handle: object): void {
    const i = this.timers.indexOf(handle as Timer);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /**
   * Drives simulated time until `work` settles and returns its result. Throws when `work` is
   * still pending but nothing is scheduled (a deadlock), or when more than `limitMs` simulated
   * milliseconds pass.
   */
  async run<T>(work: Promise<T>, limitMs = 600_000): Promise<T> {
    let settled = false;
    work.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    const start = this.time;
    for (;;) {
      // setImmediate runs only after the microtask queue is empty, i.e. every promise chain has progressed as far as it can.
      await new Promise<void>((r) => setImmediate(r));
      if (settled) return work;
      const next = this.timers.shift();
      if (!next) throw new Error(`VirtualClock: deadlock at t=${this.time} ms — work is pending but no timer is scheduled`);
      if (next.at - start > limitMs) throw new Error(`VirtualClock: still running after ${limitMs} simulated ms`);
      this.time = next.at;
      next.fire();
    }
  }
}
