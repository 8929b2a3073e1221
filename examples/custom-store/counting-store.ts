// A user-written SessionStore: it keeps nothing itself, hands every call to another store (here
// a MemoryStore) and counts (and optionally logs) the calls. The same shape works for wrapping
// any store that is not shared, e.g. to add metrics or tracing. (Wrapping a shared store such as
// RedisStore would also pass on nodeId, isAlive, publish, subscribe and watch: SharedSessionStore.)
import type { Awaitable, CreateResult, Mailbox, SessionRecord, SessionRecordPatch, SessionStore } from 'koa-sockjs';

export interface CountingStoreOptions {
  /** Called with the name of every operation as it happens; leave out for silence. */
  log?: (operation: string, key?: string) => void;
}

/** The store wrapped: any SessionStore, with MemoryStore's eviction notices if it has them. */
export type InnerStore = SessionStore & {
  onEvict?(listener: (key: string, record: SessionRecord) => void): void;
};

export class CountingStore implements SessionStore {
  readonly #inner: InnerStore;
  readonly #log: ((operation: string, key?: string) => void) | undefined;
  readonly #counts = new Map<string, number>();

  // The optional methods exist exactly when the wrapped store has them: the route falls back
  // (update and touch for bury, its own sessions for count) when they are absent.
  readonly bury?: (key: string, closeCode: number, closeReason: string, ttlMs: number) => Awaitable<void>;
  readonly count?: () => Awaitable<number>;
  readonly close?: () => Awaitable<void>;
  /** MemoryStore's eviction notices, passed on, so the route closes evicted sessions properly. */
  readonly onEvict?: (listener: (key: string, record: SessionRecord) => void) => void;

  constructor(inner: InnerStore, options: CountingStoreOptions = {}) {
    this.#inner = inner;
    this.#log = options.log;
    if (inner.bury) {
      this.bury = (key, closeCode, closeReason, ttlMs) => {
        this.#count('bury', key);
        return inner.bury!(key, closeCode, closeReason, ttlMs);
      };
    }
    if (inner.count) {
      this.count = () => {
        this.#count('count');
        return inner.count!();
      };
    }
    if (inner.close) {
      this.close = () => {
        this.#count('close');
        return inner.close!();
      };
    }
    if (inner.onEvict) this.onEvict = (listener) => inner.onEvict!(listener);
  }

  /** How many times each operation has been called so far. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  #count(operation: string, key?: string): void {
    this.#counts.set(operation, (this.#counts.get(operation) ?? 0) + 1);
    this.#log?.(operation, key);
  }

  create(key: string, record: SessionRecord, ttlMs: number): Awaitable<CreateResult> {
    this.#count('create', key);
    return this.#inner.create(key, record, ttlMs);
  }

  get(key: string): Awaitable<SessionRecord | undefined> {
    this.#count('get', key);
    return this.#inner.get(key);
  }

  update(key: string, patch: SessionRecordPatch, expectedOwner?: string): Awaitable<boolean> {
    this.#count('update', key);
    return this.#inner.update(key, patch, expectedOwner);
  }

  touch(key: string, ttlMs: number): Awaitable<void> {
    this.#count('touch', key);
    return this.#inner.touch(key, ttlMs);
  }

  delete(key: string): Awaitable<void> {
    this.#count('delete', key);
    return this.#inner.delete(key);
  }

  push(key: string, mailbox: Mailbox, messages: readonly string[]): Awaitable<void> {
    this.#count(`push ${mailbox}`, key);
    return this.#inner.push(key, mailbox, messages);
  }

  take(key: string, mailbox: Mailbox): Awaitable<string[]> {
    this.#count(`take ${mailbox}`, key);
    return this.#inner.take(key, mailbox);
  }

  claimReceiver(key: string, token: string, ttlMs: number): Awaitable<boolean> {
    this.#count('claimReceiver', key);
    return this.#inner.claimReceiver(key, token, ttlMs);
  }

  releaseReceiver(key: string, token: string): Awaitable<void> {
    this.#count('releaseReceiver', key);
    return this.#inner.releaseReceiver(key, token);
  }
}
