import type { ClusterStore, StoredValue, StoreLock } from '@cluster-lab/core';
import type { ConsulClient } from './consul-client.js';

/** Key prefix under which Cluster Lab keeps its facts in Consul KV. */
export const DEFAULT_STORE_PREFIX = 'cluster-lab/';

/** Longest single blocking query {@link ConsulStore.waitFor} issues (it re-issues until the deadline). */
const MAX_BLOCK_MS = 60_000;

/** Options of {@link ConsulStore}. */
export interface ConsulStoreOptions {
  /** Prepended to every key. Default {@link DEFAULT_STORE_PREFIX}. */
  prefix?: string;
  /**
   * Awaited (once) before the first operation, e.g. "a Raft leader is known": lets a caller hand
   * the store on while the agent is still electing, instead of waiting for it up front.
   */
  ready?: () => Promise<unknown>;
}

/**
 * Core's {@link ClusterStore} on Consul KV: small cluster-wide facts (Swarm join tokens, the
 * leader address, manager slots). `index` is Consul's ModifyIndex, so `cas` is Consul's CAS;
 * `waitFor` uses blocking queries (no polling); `lock` uses sessions. Values never appear in
 * errors or logs.
 *
 * @example
 * ```ts
 * const store = new ConsulStore(new ConsulClient({ address: '127.0.0.1:8500' }));
 * await store.put('swarm/worker-token', token);
 * const t = await store.waitFor('swarm/worker-token', { timeoutMs: 30_000 });
 * ```
 */
export class ConsulStore implements ClusterStore {
  readonly prefix: string;
  private readonly whenReady: () => Promise<unknown>;

  constructor(
    readonly client: ConsulClient,
    options: ConsulStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_STORE_PREFIX;
    let ready: Promise<unknown> | undefined;
    const gate = options.ready;
    // A failed wait is retried by the next operation rather than remembered.
    this.whenReady = gate
      ? () => {
          ready ??= gate().catch((error: unknown) => {
            ready = undefined;
            throw error;
          });
          return ready;
        }
      : async () => undefined;
  }

  async get(key: string): Promise<StoredValue | undefined> {
    await this.whenReady();
    const e = await this.client.kv.get(this.full(key));
    return e ? { value: e.value, index: e.modifyIndex } : undefined;
  }

  async put(key: string, value: string): Promise<void> {
    await this.whenReady();
    await this.client.kv.put(this.full(key), value);
  }

  async cas(key: string, value: string, index: number): Promise<boolean> {
    await this.whenReady();
    return this.client.kv.cas(this.full(key), value, index);
  }

  async delete(key: string): Promise<void> {
    await this.whenReady();
    await this.client.kv.delete(this.full(key));
  }

  /** Keys under `prefix` (relative to the store prefix, like the keys given to `put`). */
  async list(prefix: string): Promise<Map<string, StoredValue>> {
    await this.whenReady();
    const entries = await this.client.kv.list(this.full(prefix));
    return new Map(entries.map((e) => [e.key.slice(this.prefix.length), { value: e.value, index: e.modifyIndex }]));
  }

  /** Waits with blocking queries until `key` exists; undefined after `timeoutMs` (or on abort). */
  async waitFor(key: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<StoredValue | undefined> {
    await this.whenReady();
    const deadline = Date.now() + options.timeoutMs;
    // Index 0 answers at once with the current index; later reads block until the key changes.
    let index = 0;
    for (;;) {
      const left = Math.max(1, deadline - Date.now());
      const { entry, index: next } = await this.client.kv.watch(this.full(key), index, Math.min(left, MAX_BLOCK_MS), options.signal);
      if (entry) return { value: entry.value, index: entry.modifyIndex };
      if (deadline - Date.now() <= 0 || options.signal?.aborted) return undefined;
      // Consul: an index that went backwards (snapshot restore, new cluster) must restart from 0.
      index = next < index ? 0 : next;
    }
  }

  async lock(key: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<StoreLock> {
    await this.whenReady();
    const held = await this.client.lock(this.full(key), options);
    return { release: () => held.release(), [Symbol.asyncDispose]: () => held.release() };
  }

  private full(key: string): string {
    return `${this.prefix}${key}`;
  }
}
