// A user-written SessionStore: it keeps nothing itself, hands every call to a MemoryStore and
// counts (and optionally logs) the calls. The same shape works for wrapping any store, e.g. to
// add metrics or tracing to the Redis store.
import type {
  Awaitable,
  Mailbox,
  SessionRecord,
  SessionRecordPatch,
  SessionStore,
  Unsubscribe,
} from 'koa-sockjs';

export interface CountingStoreOptions {
  /** Called with the name of every operation as it happens; leave out for silence. */
  log?: (operation: string, key?: string) => void;
}

export class CountingStore implements SessionStore {
  readonly #inner: SessionStore;
  readonly #log: ((operation: string, key?: string) => void) | undefined;
  readonly #counts = new Map<string, number>();

  constructor(inner: SessionStore, options: CountingStoreOptions = {}) {
    this.#inner = inner;
    this.#log = options.log;
  }

  /** How many times each operation has been called so far. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  #count(operation: string, key?: string): void {
    this.#counts.set(operation, (this.#counts.get(operation) ?? 0) + 1);
    this.#log?.(operation, key);
  }

  get nodeId(): string {
    return this.#inner.nodeId;
  }

  create(key: string, record: SessionRecord, ttlMs: number): Awaitable<{ record: SessionRecord; created: boolean }> {
    this.#count('create', key);
    return this.#inner.create(key, record, ttlMs);
  }

  get(key: string): Awaitable<SessionRecord | undefined> {
    this.#count('get', key);
    return this.#inner.get(key);
  }

  update(key: string, patch: SessionRecordPatch): Awaitable<boolean> {
    this.#count('update', key);
    return this.#inner.update(key, patch);
  }

  adopt(key: string, expectedOwner: string, newOwner: string): Awaitable<boolean> {
    this.#count('adopt', key);
    return this.#inner.adopt(key, expectedOwner, newOwner);
  }

  isAlive(nodeId: string): Awaitable<boolean> {
    this.#count('isAlive');
    return this.#inner.isAlive(nodeId);
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

  watch(key: string, mailbox: Mailbox, listener: () => void): Awaitable<Unsubscribe> {
    this.#count(`watch ${mailbox}`, key);
    return this.#inner.watch(key, mailbox, listener);
  }

  claimReceiver(key: string, token: string, ttlMs: number): Awaitable<boolean> {
    this.#count('claimReceiver', key);
    return this.#inner.claimReceiver(key, token, ttlMs);
  }

  releaseReceiver(key: string, token: string): Awaitable<void> {
    this.#count('releaseReceiver', key);
    return this.#inner.releaseReceiver(key, token);
  }

  publish(topic: string, payload: string): Awaitable<void> {
    this.#count('publish', topic);
    return this.#inner.publish(topic, payload);
  }

  subscribe(topic: string, listener: (payload: string) => void): Awaitable<Unsubscribe> {
    this.#count('subscribe', topic);
    return this.#inner.subscribe(topic, listener);
  }

  count(): Awaitable<number> {
    this.#count('count');
    return this.#inner.count();
  }

  keys(): AsyncIterable<string> {
    this.#count('keys');
    return this.#inner.keys();
  }

  onEvict(listener: (key: string, record: SessionRecord) => void): void {
    this.#count('onEvict');
    this.#inner.onEvict(listener);
  }

  close(): Awaitable<void> {
    this.#count('close');
    return this.#inner.close();
  }
}
