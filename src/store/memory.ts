/**
 * The default store: session records and mailboxes in this process, in an LRU (lru-cache)
 * bounded by `maxSessions`. Every operation answers synchronously, so HTTP transports on this
 * store never wait on I/O, and the single process owns every session.
 */
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Mailbox, SessionRecord, SessionRecordPatch, SessionStore, Unsubscribe } from './store.js';

export interface MemoryStoreOptions {
  /**
   * How many sessions the store holds. When full, the least recently used session is evicted
   * and closed (its hooks fire, a connected client gets a close frame).
   * @default 100_000
   */
  maxSessions?: number;
  /**
   * Clock used for time to live and `seenAt`, in epoch milliseconds. For tests.
   * @default Date.now
   */
  now?: () => number;
}

interface Entry {
  record: SessionRecord;
  /** Mailboxes, made on first use: most sessions never queue (websockets never do). */
  outgoing?: string[];
  incoming?: string[];
  /** When the receiver claim lapses (epoch ms); meaningful only while record.receiver is set. */
  claimUntil: number;
  outgoingWatchers?: Set<() => void>;
  incomingWatchers?: Set<() => void>;
}

export const DEFAULT_MAX_SESSIONS = 100_000;

export class MemoryStore implements SessionStore {
  readonly nodeId = `memory-${randomUUID()}`;
  readonly #cache: LRUCache<string, Entry>;
  readonly #now: () => number;
  readonly #topics = new Map<string, Set<(payload: string) => void>>();
  #evictListener: ((key: string, record: SessionRecord) => void) | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (!Number.isInteger(maxSessions) || maxSessions < 1) {
      throw new TypeError(`MemoryStore: option "maxSessions" must be a positive integer, got ${String(maxSessions)}`);
    }
    this.#now = options.now ?? Date.now;
    const now = this.#now;
    this.#cache = new LRUCache<string, Entry>({
      max: maxSessions,
      // Expiry is checked lazily on access; the manager's own timers remove sessions on time,
      // the TTL is only the safety net against records nobody comes back for.
      ttlAutopurge: false,
      perf: { now },
      // disposeAfter (not dispose) so the listener may touch the cache again safely.
      disposeAfter: (entry, key, reason) => {
        if (reason === 'evict' || reason === 'expire') this.#evictListener?.(key, entry.record);
      },
    });
  }

  create(key: string, record: SessionRecord, ttlMs: number): { record: SessionRecord; created: boolean } {
    const existing = this.#cache.get(key);
    if (existing) return { record: existing.record, created: false };
    const stored = { ...record };
    this.#cache.set(key, { record: stored, claimUntil: 0 }, { ttl: ttlMs });
    return { record: stored, created: true };
  }

  get(key: string): SessionRecord | undefined {
    const entry = this.#cache.get(key);
    if (!entry) return undefined;
    this.#lapseClaim(entry);
    return entry.record;
  }

  update(key: string, patch: SessionRecordPatch): boolean {
    const entry = this.#cache.get(key);
    if (!entry) return false;
    Object.assign(entry.record, patch);
    return true;
  }

  adopt(key: string, expectedOwner: string, newOwner: string): boolean {
    const entry = this.#cache.get(key);
    if (!entry || entry.record.owner !== expectedOwner) return false;
    entry.record.owner = newOwner;
    return true;
  }

  isAlive(nodeId: string): boolean {
    return nodeId === this.nodeId;
  }

  touch(key: string, ttlMs: number): void {
    const entry = this.#cache.get(key);
    if (!entry) return;
    // Re-setting the same entry renews its TTL without a dispose call.
    this.#cache.set(key, entry, { ttl: ttlMs, noDisposeOnSet: true });
    if (entry.record.receiver !== undefined) entry.claimUntil = this.#now() + ttlMs;
  }

  delete(key: string): void {
    this.#cache.delete(key);
  }

  push(key: string, mailbox: Mailbox, messages: readonly string[]): void {
    const entry = this.#cache.peek(key);
    if (!entry || messages.length === 0) return;
    const queue = (entry[mailbox] ??= []);
    for (const message of messages) queue.push(message);
    const watchers = mailbox === 'outgoing' ? entry.outgoingWatchers : entry.incomingWatchers;
    if (watchers) for (const watcher of [...watchers]) watcher();
  }

  take(key: string, mailbox: Mailbox): string[] {
    const entry = this.#cache.peek(key);
    const taken = entry?.[mailbox];
    if (!taken || taken.length === 0) return [];
    entry[mailbox] = undefined;
    return taken;
  }

  watch(key: string, mailbox: Mailbox, listener: () => void): Unsubscribe {
    const entry = this.#cache.peek(key);
    if (!entry) return () => {};
    const field = mailbox === 'outgoing' ? 'outgoingWatchers' : 'incomingWatchers';
    const watchers = (entry[field] ??= new Set());
    watchers.add(listener);
    return () => {
      watchers.delete(listener);
    };
  }

  claimReceiver(key: string, token: string, ttlMs: number): boolean {
    const entry = this.#cache.get(key);
    if (!entry) return false;
    this.#lapseClaim(entry);
    if (entry.record.receiver !== undefined && entry.record.receiver !== token) return false;
    entry.record.receiver = token;
    entry.claimUntil = this.#now() + ttlMs;
    return true;
  }

  releaseReceiver(key: string, token: string): void {
    const entry = this.#cache.peek(key);
    if (!entry || entry.record.receiver !== token) return;
    delete entry.record.receiver;
    entry.record.seenAt = this.#now();
  }

  publish(topic: string, payload: string): void {
    const listeners = this.#topics.get(topic);
    if (listeners) for (const listener of [...listeners]) listener(payload);
  }

  subscribe(topic: string, listener: (payload: string) => void): Unsubscribe {
    let listeners = this.#topics.get(topic);
    if (!listeners) this.#topics.set(topic, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#topics.delete(topic);
    };
  }

  count(): number {
    return this.#cache.size;
  }

  async *keys(): AsyncIterable<string> {
    for (const key of [...this.#cache.keys()]) yield key;
  }

  onEvict(listener: (key: string, record: SessionRecord) => void): void {
    this.#evictListener = listener;
  }

  close(): void {
    this.#evictListener = undefined;
    this.#cache.clear();
    this.#topics.clear();
  }

  /** A claim whose holder stopped renewing it lapses, as in a networked store. */
  #lapseClaim(entry: Entry): void {
    if (entry.record.receiver !== undefined && entry.claimUntil <= this.#now()) {
      delete entry.record.receiver;
      entry.record.seenAt = this.#now();
    }
  }
}
