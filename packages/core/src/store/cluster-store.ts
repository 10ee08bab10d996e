import { ClusterLabError } from '../errors/cluster-lab-error.js';

/** A value read from a {@link ClusterStore}, with the index used for compare-and-set. */
export interface StoredValue {
  value: string;
  /** Changes every time the key is written (Consul's ModifyIndex). */
  index: number;
}

/** A held lock; release it when done (also released when the holder dies, store permitting). */
export interface StoreLock {
  /** Releases the lock; releasing twice is harmless. */
  release(): Promise<void>;
  /** Same as `release`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Small cluster-wide facts shared between nodes: Swarm join tokens, the leader address,
 * manager slots. Implemented on Consul KV by `@cluster-lab/consul`; {@link InMemoryClusterStore}
 * serves unit tests. Values may be secrets: implementations never log them.
 */
export interface ClusterStore {
  /** The value of `key`, or undefined. */
  get(key: string): Promise<StoredValue | undefined>;
  /** Writes `key` unconditionally. */
  put(key: string, value: string): Promise<void>;
  /** Writes only if the key's index is still `index` (0 = key must not exist). Returns success. */
  cas(key: string, value: string, index: number): Promise<boolean>;
  /** Deletes `key`; deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** Keys (with values) under a prefix. */
  list(prefix: string): Promise<Map<string, StoredValue>>;
  /** Waits until `key` exists (or the timeout passes) and returns it. */
  waitFor(key: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<StoredValue | undefined>;
  /** Takes an exclusive lock on `key`, waiting up to `timeoutMs`. */
  lock(key: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<StoreLock>;
}

/**
 * An in-process {@link ClusterStore}, for unit tests and single-process simulations.
 *
 * @example
 * ```ts
 * const store = new InMemoryClusterStore();
 * await store.put('swarm/worker-token', token);
 * ```
 */
export class InMemoryClusterStore implements ClusterStore {
  private readonly data = new Map<string, StoredValue>();
  private readonly locks = new Map<string, symbol>();
  private readonly waiters = new Set<() => void>();
  private index = 0;

  async get(key: string): Promise<StoredValue | undefined> {
    const v = this.data.get(key);
    return v ? { ...v } : undefined;
  }

  async put(key: string, value: string): Promise<void> {
    this.data.set(key, { value, index: ++this.index });
    this.notify();
  }

  async cas(key: string, value: string, index: number): Promise<boolean> {
    const current = this.data.get(key)?.index ?? 0;
    if (current !== index) return false;
    await this.put(key, value);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.data.delete(key);
    this.notify();
  }

  async list(prefix: string): Promise<Map<string, StoredValue>> {
    return new Map([...this.data].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k, { ...v }]));
  }

  async waitFor(key: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<StoredValue | undefined> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      // Read and register the waiter in one synchronous stretch: an `await` between them could
      // miss a put made in that gap and sleep until the deadline although the key exists.
      const v = this.data.get(key);
      if (v || Date.now() >= deadline || options.signal?.aborted) return v ? { ...v } : undefined;
      await this.sleepUntilChange(deadline, options.signal);
    }
  }

  /**
   * Takes the lock on `key`, waiting while another holder has it. Throws `LOCK_TIMEOUT` when
   * it is not free within `timeoutMs` (or the signal aborts). Releasing twice is harmless and
   * never releases a later holder's lock.
   */
  async lock(key: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<StoreLock> {
    const deadline = Date.now() + options.timeoutMs;
    while (this.locks.has(key)) {
      if (Date.now() >= deadline || options.signal?.aborted) {
        throw new ClusterLabError('LOCK_TIMEOUT', `lock "${key}" not acquired within ${options.timeoutMs} ms`, {
          hint: 'another node holds it; retry later or release it',
        });
      }
      await this.sleepUntilChange(deadline, options.signal);
    }
    const token = Symbol(key);
    this.locks.set(key, token);
    const release = async () => {
      if (this.locks.get(key) !== token) return;
      this.locks.delete(key);
      this.notify();
    };
    return { release, [Symbol.asyncDispose]: release };
  }

  /** Resolves on the next write, delete or lock release, at `deadline`, or on abort. */
  private sleepUntilChange(deadline: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
