/**
 * The default store: session records and mailboxes in this process, in an LRU (lru-cache)
 * bounded by `maxSessions`. Every operation answers synchronously, so HTTP transports on this
 * store never wait on I/O, and the single process owns every session.
 *
 * Recency follows use: `create`, `claimReceiver` and `touch` (which the manager calls on
 * heartbeats and, at most once per interval, on a session's traffic) make a record the most
 * recently used; `get`, `push`, `take` and the like do not. When the store is full, the record
 * to drop is chosen among the least recently used ones, preferring a session with no live
 * connection (no receiver claim) over one with a connected client.
 *
 * Time to live is kept here rather than in lru-cache, so that choosing whom to evict sees
 * expired records too. A record that expires or is evicted leaves a tombstone (see `bury`) with
 * the close frame `c[3001,"Session expired"]`, so its client never gets a new session on the
 * same URL while the tombstone lasts.
 */
import { LRUCache } from 'lru-cache';
import { DEFAULTS } from '../defaults.js';
import { SockjsOptionError } from '../errors.js';
import { describeValue } from '../util/describe-value.js';
import { rejectUnknownKeys } from '../util/option-keys.js';
import { SessionState } from './session-state.js';
import type { CreateResult, Mailbox, SessionRecord, SessionRecordPatch, SessionStore } from './store.js';

/**
 * A store that tells about the records it drops by itself, so their sessions can be closed
 * properly: MemoryStore's own API, not part of the SessionStore contract. The route calls
 * `onEvict` once, when it is built, on any store that has it (a wrapper around a MemoryStore
 * may pass it on).
 */
export interface EvictionNotices {
  /**
   * Registers the listener for records the store drops by itself (capacity eviction or expiry),
   * with the key and the record as it was. One listener per store: one store per route.
   */
  onEvict(listener: (key: string, record: SessionRecord) => void): void;
}

/** True for a store that has {@link EvictionNotices} (MemoryStore, or a wrapper passing it on). */
export function hasEvictionNotices(store: object): store is EvictionNotices {
  return typeof (store as Partial<EvictionNotices>).onEvict === 'function';
}

/** The options of {@link MemoryStore}: all optional. */
export interface MemoryStoreOptions {
  /**
   * How many sessions the store holds. When full, one of the least recently used sessions is
   * evicted and closed (its hooks fire, a connected client gets `c[3001,"Session expired"]`),
   * preferably one whose client has no live connection. As many tombstones of ended sessions
   * are kept besides, each for the time the manager asks (see `bury`).
   * @default 100_000
   */
  maxSessions?: number | undefined;
  /**
   * Clock used for time to live and `seenAt`, in epoch milliseconds. For tests.
   * @default Date.now
   */
  now?: (() => number) | undefined;
}

const MEMORY_STORE_OPTION_KEYS = { maxSessions: true, now: true } as const satisfies Record<keyof MemoryStoreOptions, true>;

interface Entry {
  record: SessionRecord;
  /** Mailboxes, made on first use: most sessions never queue (websockets never do). */
  outgoing?: string[];
  incoming?: string[];
  /** The time to live last given (ms): `releaseReceiver` renews by it. */
  ttl: number;
  /** When the record lapses (epoch ms). */
  expiresAt: number;
  /** When the receiver claim lapses (epoch ms); meaningful only while record.receiver is set. */
  claimUntil: number;
}

/**
 * How many of the least recently used records a full store looks at for one without a live
 * connection before it evicts the least recently used one regardless: bounded, so a full
 * store of connected clients does not scan them all for every new session.
 */
const EVICTION_SCAN = 1024;

/** Every entry counts as one toward `maxSize` (see the constructor). */
const one = (): number => 1;

/** What an expired or evicted session's client gets when it comes back. */
const EXPIRED_CLOSE = { code: 3001, reason: 'Session expired' } as const;

/**
 * The default {@link SessionStore}: records and mailboxes in this process, in an LRU
 * (lru-cache) of at most `maxSessions` sessions. Every operation answers synchronously. When
 * full, one of the least recently used sessions (preferably one whose client has no live
 * connection) is closed properly (hooks fire, a connected client gets
 * `c[3001,"Session expired"]`, through {@link EvictionNotices}). One process owns every
 * session: it is not a shared store; for several processes, use `RedisStore`.
 *
 * @throws {@link SockjsOptionError} from the constructor for a `maxSessions` that is not a
 *   positive integer.
 */
export class MemoryStore implements SessionStore, EvictionNotices {
  readonly #cache: LRUCache<string, Entry>;
  /** Tombstones of ended sessions: bounded in number and each in time. */
  readonly #graves: LRUCache<string, { record: SessionRecord; expiresAt: number }>;
  readonly #now: () => number;
  readonly #maxSessions: number;
  #evictListener: ((key: string, record: SessionRecord) => void) | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new SockjsOptionError('options', 'must be an object { maxSessions?, now? }', 'MemoryStore');
    rejectUnknownKeys(options, MEMORY_STORE_OPTION_KEYS, 'new MemoryStore()', { owner: 'MemoryStore' });
    const maxSessions = options.maxSessions ?? DEFAULTS.memoryStore.maxSessions;
    if (!Number.isInteger(maxSessions) || maxSessions < 1) {
      throw new SockjsOptionError('maxSessions', `must be a positive integer, got ${describeValue(maxSessions)}`, 'MemoryStore');
    }
    this.#now = options.now ?? Date.now;
    this.#maxSessions = maxSessions;
    // The store picks whom to evict itself (#makeRoom) before it adds a record; lru-cache's own
    // eviction at `maxSize` is only the backstop, and reports like ours. `maxSize` with a size of
    // 1 per entry bounds the count as `max` would, but lru-cache then grows its arrays as
    // sessions come instead of allocating `max` slots up front (about 36 ms and 2.5 MB per cache
    // at the default 100 000: a route's startup paid that twice).
    this.#cache = new LRUCache<string, Entry>({
      maxSize: maxSessions,
      sizeCalculation: one,
      // disposeAfter (not dispose) so the listener may touch the cache again safely.
      disposeAfter: (entry, key, reason) => {
        if (reason === 'evict') this.#lost(key, entry);
      },
    });
    this.#graves = new LRUCache({ maxSize: maxSessions, sizeCalculation: one });
  }

  create(key: string, record: SessionRecord, ttlMs: number): CreateResult {
    const existing = this.#live(key, false);
    if (existing) return { record: existing.record, created: false };
    const grave = this.#grave(key);
    if (grave) return { record: grave, created: false };
    this.#makeRoom();
    const stored = { ...record };
    const now = this.#now();
    this.#cache.set(key, { record: stored, ttl: ttlMs, expiresAt: now + ttlMs, claimUntil: stored.receiver === undefined ? 0 : now + ttlMs });
    return { record: stored, created: true };
  }

  get(key: string): SessionRecord | undefined {
    const entry = this.#live(key, false);
    if (!entry) return this.#grave(key);
    this.#lapseClaim(entry);
    return entry.record;
  }

  update(key: string, patch: SessionRecordPatch, expectedOwner?: string): boolean {
    const entry = this.#live(key, false);
    if (!entry || (expectedOwner !== undefined && entry.record.owner !== expectedOwner)) return false;
    Object.assign(entry.record, patch);
    return true;
  }

  touch(key: string, ttlMs: number): void {
    const entry = this.#live(key, true);
    if (!entry) return;
    this.#renew(entry, ttlMs);
    if (entry.record.receiver !== undefined) entry.claimUntil = this.#now() + ttlMs;
  }

  delete(key: string): void {
    this.#cache.delete(key);
    this.#graves.delete(key);
  }

  bury(key: string, closeCode: number, closeReason: string, ttlMs: number): void {
    const entry = this.#live(key, false);
    if (!entry) return;
    this.#cache.delete(key);
    this.#addGrave(key, entry.record, closeCode, closeReason, ttlMs);
  }

  push(key: string, mailbox: Mailbox, messages: readonly string[]): void {
    const entry = this.#live(key, false);
    if (!entry || messages.length === 0) return;
    const queue = (entry[mailbox] ??= []);
    for (const message of messages) queue.push(message);
  }

  take(key: string, mailbox: Mailbox): string[] {
    const entry = this.#live(key, false);
    const taken = entry?.[mailbox];
    if (!taken || taken.length === 0) return [];
    entry[mailbox] = undefined;
    return taken;
  }

  claimReceiver(key: string, token: string, ttlMs: number): boolean {
    return this.#claim(key, token, ttlMs) !== undefined;
  }

  claimAndTake(key: string, token: string, ttlMs: number): string[] | null {
    const entry = this.#claim(key, token, ttlMs);
    if (!entry) return null;
    const taken = entry.outgoing;
    entry.outgoing = undefined;
    return taken ?? [];
  }

  releaseReceiver(key: string, token: string): void {
    const entry = this.#live(key, false);
    if (!entry || entry.record.receiver !== token) return;
    delete entry.record.receiver;
    entry.record.seenAt = this.#now();
    // The end of a receiving request is a sign of life like its start (issue 9: a busy polling
    // session whose polls are answered before any heartbeat must not lapse).
    this.#renew(entry, entry.ttl);
  }

  /** Live records. One that expired but was not looked at since may still count (O(1)). */
  count(): number {
    return this.#cache.size;
  }

  /** Every live key (not part of the SessionStore contract: the route never lists keys). */
  async *keys(): AsyncIterable<string> {
    const now = this.#now();
    for (const [key, entry] of [...this.#cache.entries()]) if (entry.expiresAt > now) yield key;
  }

  onEvict(listener: (key: string, record: SessionRecord) => void): void {
    this.#evictListener = listener;
  }

  close(): void {
    this.#evictListener = undefined;
    this.#cache.clear();
    this.#graves.clear();
  }

  // ---- internals ----

  /**
   * The live entry under `key`, or undefined; an expired one is dropped on the way (and its
   * owner told). `use` makes it the most recently used.
   */
  #live(key: string, use: boolean): Entry | undefined {
    const entry = use ? this.#cache.get(key) : this.#cache.peek(key);
    if (entry && entry.expiresAt <= this.#now()) {
      this.#cache.delete(key);
      this.#lost(key, entry);
      return undefined;
    }
    return entry;
  }

  /** Claims the receiver for `token`: the entry when granted, undefined when refused. */
  #claim(key: string, token: string, ttlMs: number): Entry | undefined {
    const entry = this.#live(key, true);
    if (!entry) return undefined;
    this.#lapseClaim(entry);
    if (entry.record.receiver !== undefined && entry.record.receiver !== token) return undefined;
    entry.record.receiver = token;
    this.#renew(entry, entry.ttl);
    entry.claimUntil = this.#now() + ttlMs;
    return entry;
  }

  #renew(entry: Entry, ttlMs: number): void {
    entry.ttl = ttlMs;
    entry.expiresAt = this.#now() + ttlMs;
  }

  /** A full store drops one record before it adds one: see the class comment for which. */
  #makeRoom(): void {
    if (this.#cache.size < this.#maxSessions) return;
    const now = this.#now();
    let victim: string | undefined;
    let scanned = 0;
    // rkeys(): least recently used first.
    for (const key of this.#cache.rkeys()) {
      victim ??= key;
      const entry = this.#cache.peek(key)!;
      if (entry.expiresAt <= now || entry.record.receiver === undefined || entry.claimUntil <= now) {
        victim = key;
        break;
      }
      if (++scanned >= EVICTION_SCAN) break;
    }
    if (victim === undefined) return;
    const entry = this.#cache.peek(victim)!;
    this.#cache.delete(victim);
    this.#lost(victim, entry);
  }

  /**
   * A record the store dropped by itself (expired or evicted): tombstone it for as long as it
   * would have lived, then tell its owner. A session that had closed keeps its own close frame.
   */
  #lost(key: string, entry: Entry): void {
    const { record } = entry;
    const closed = record.state === SessionState.CLOSED && record.closeCode !== undefined;
    this.#addGrave(key, record, closed ? record.closeCode! : EXPIRED_CLOSE.code, closed ? (record.closeReason ?? '') : EXPIRED_CLOSE.reason, entry.ttl);
    this.#evictListener?.(key, record);
  }

  #addGrave(key: string, record: SessionRecord, closeCode: number, closeReason: string, ttlMs: number): void {
    // Only what serving the close frame needs: a tombstone is small.
    const grave: SessionRecord = {
      id: record.id,
      owner: record.owner,
      state: SessionState.CLOSED,
      closeCode,
      closeReason,
      seenAt: record.seenAt,
      transport: record.transport,
      // Its owner still gets the close frame; anybody else the 404 of an unknown session.
      ...(record.identity !== undefined ? { identity: record.identity } : {}),
    };
    this.#graves.set(key, { record: grave, expiresAt: this.#now() + ttlMs });
  }

  #grave(key: string): SessionRecord | undefined {
    const grave = this.#graves.peek(key);
    if (!grave) return undefined;
    if (grave.expiresAt > this.#now()) return grave.record;
    this.#graves.delete(key);
    return undefined;
  }

  /** A claim whose holder stopped renewing it lapses, as in a networked store. */
  #lapseClaim(entry: Entry): void {
    if (entry.record.receiver !== undefined && entry.claimUntil <= this.#now()) {
      delete entry.record.receiver;
      entry.record.seenAt = this.#now();
    }
  }
}
