// A complete session store written from scratch: records and mailboxes in a Map, with time to
// live. It passes the store contract suite (contract.test.ts) and is what docs/stores.md walks
// through. One process only: it is not a shared store.
import type { CreateResult, Mailbox, SessionRecord, SessionRecordPatch, SessionStore } from 'koa-sockjs';

interface Entry {
  record: SessionRecord;
  outgoing: string[];
  incoming: string[];
  /** The time to live last given (ms): claims and releases renew by it. */
  ttl: number;
  /** When the record lapses, and when the receiver claim does (epoch ms). */
  expiresAt: number;
  claimUntil: number;
}

export class MapStore implements SessionStore {
  readonly #entries = new Map<string, Entry>();
  // Records nobody asks for again are dropped by a sweep; unref(): it keeps no process alive.
  readonly #sweep = setInterval(() => {
    for (const key of this.#entries.keys()) this.#live(key);
  }, 60_000).unref();

  create(key: string, record: SessionRecord, ttlMs: number): CreateResult {
    const existing = this.#live(key);
    if (existing) return { record: existing.record, created: false };
    const now = Date.now();
    const entry: Entry = { record: { ...record }, outgoing: [], incoming: [], ttl: ttlMs, expiresAt: now + ttlMs, claimUntil: now + ttlMs };
    this.#entries.set(key, entry);
    return { record: entry.record, created: true };
  }

  get(key: string): SessionRecord | undefined {
    return this.#live(key)?.record;
  }

  update(key: string, patch: SessionRecordPatch, expectedOwner?: string): boolean {
    const entry = this.#live(key);
    if (!entry || (expectedOwner !== undefined && entry.record.owner !== expectedOwner)) return false;
    Object.assign(entry.record, patch);
    return true;
  }

  touch(key: string, ttlMs: number): void {
    const entry = this.#live(key);
    if (!entry) return;
    entry.ttl = ttlMs;
    entry.expiresAt = entry.claimUntil = Date.now() + ttlMs;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  push(key: string, mailbox: Mailbox, messages: readonly string[]): void {
    const entry = this.#live(key);
    if (entry) entry[mailbox] = entry[mailbox].concat(messages);
  }

  take(key: string, mailbox: Mailbox): string[] {
    const entry = this.#live(key);
    if (!entry) return [];
    const taken = entry[mailbox];
    entry[mailbox] = [];
    return taken;
  }

  claimReceiver(key: string, token: string, ttlMs: number): boolean {
    const entry = this.#live(key);
    if (!entry || (entry.record.receiver !== undefined && entry.record.receiver !== token)) return false;
    entry.record.receiver = token;
    entry.claimUntil = Date.now() + ttlMs;
    entry.expiresAt = Date.now() + entry.ttl;
    return true;
  }

  releaseReceiver(key: string, token: string): void {
    const entry = this.#live(key);
    if (!entry || entry.record.receiver !== token) return;
    delete entry.record.receiver;
    entry.record.seenAt = Date.now();
    entry.expiresAt = Date.now() + entry.ttl;
  }

  close(): void {
    clearInterval(this.#sweep);
    this.#entries.clear();
  }

  /** The entry under `key` unless it expired (then it is dropped); a lapsed claim is released. */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    const now = Date.now();
    if (entry && entry.expiresAt <= now) this.#entries.delete(key);
    if (!entry || entry.expiresAt <= now) return undefined;
    if (entry.record.receiver !== undefined && entry.claimUntil <= now) {
      delete entry.record.receiver;
      entry.record.seenAt = now;
    }
    return entry;
  }
}
