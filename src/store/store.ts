/**
 * The SessionStore contract: where a route keeps session records and their message queues.
 *
 * One store serves one route. A store may be in-process (MemoryStore) or networked (Redis):
 * every operation may return a Promise, and callers always `await` results outside the hot
 * path. The websocket hot path never touches the store per frame: frames go straight from a
 * Session to its connection, and the store only sees a websocket session open and close.
 *
 * Rules every store must follow (the contract suite in `store/contract.ts` checks them):
 * - Operations on one key take effect in the order they were called.
 * - `create` is atomic: of two concurrent creates for one key exactly one reports `created`.
 * - `push` appends in order; `take` removes and returns everything queued, atomically, so a
 *   message is taken exactly once.
 * - `watch` listeners are called after a `push` to that key's mailbox, by any process sharing
 *   the store; a listener may be called spuriously and must then find the mailbox empty.
 * - `claimReceiver` is atomic: while a receiver holds the claim, another claim fails.
 * - A record's time to live is renewed by every operation that is a sign of its client's
 *   activity: `create`, `claimReceiver` (a receiving request arrives), `touch` (heartbeats,
 *   messages, a live connection) and `releaseReceiver` (a receiving request ends). The manager
 *   calls one of them for every sign of life, so a session in use never lapses (issue 9). An
 *   expired record and its mailboxes are gone; a store may leave a tombstone in its place (see
 *   `bury`), as MemoryStore does.
 * - `bury` (optional) leaves a closed session's record behind as a tombstone for a while, so a
 *   client coming back to its URL gets the close frame instead of a new session.
 */
import type { SessionState } from './session-state.js';

/** A value, or a promise of it: in-memory stores answer synchronously. */
export type Awaitable<T> = T | Promise<T>;

/** Stops a watch or subscription. */
export type Unsubscribe = () => Awaitable<void>;

/** The two queues of a session. */
export type Mailbox = 'outgoing' | 'incoming';

/** What a store keeps about one session besides its mailboxes. */
export interface SessionRecord {
  /** The server-made session id (`Session.id`), never the client's URL session id. */
  readonly id: string;
  /** `nodeId` of the store instance whose process runs this session's hooks. */
  owner: string;
  /** The session's state, as the owner last wrote it. */
  state: SessionState;
  /** Once closed: the close frame served to every later receiver until the record expires. */
  closeCode?: number;
  /** Once closed: the reason of that close frame. */
  closeReason?: string;
  /**
   * Token of the receiving connection that holds the claim, if any: a live connection. A record
   * created with one (a websocket session's) holds the claim from the start.
   */
  receiver?: string;
  /** Epoch ms when a receiver last released the claim (or the record was created). */
  seenAt: number;
  /** Transport that opened the session, e.g. `xhr-polling`. */
  transport: string;
  /**
   * Digest of the identity that created the session (the `identity` option), compared on every
   * request for it, by whichever process serves the request. Absent when sessions are not bound.
   */
  readonly identity?: string;
}

/** What {@link SessionStore.create} answers. */
export interface CreateResult {
  /** The record now stored under the key: the new one, or the one that was there. */
  record: SessionRecord;
  /** True when this call created the record; false when one existed (it is left unchanged). */
  created: boolean;
}

/** The fields `update` may change. */
export type SessionRecordPatch = Partial<Pick<SessionRecord, 'state' | 'closeCode' | 'closeReason' | 'owner'>>;

/**
 * Where a route keeps session records and their two message queues. The rules every store
 * follows (atomic `create` and `claimReceiver`, ordered queues, wake-ups, time to live) are in
 * the method docs; `describeStoreContract()` from `koa-sockjs/store-contract` checks them. `MemoryStore` (the
 * default) and `RedisStore` implement it; so can yours. Every method may answer a value or a
 * promise ({@link Awaitable}); a failure is thrown or rejected (ideally as a `StoreError`),
 * reported through `onError`, and answered 503 to the request that needed it.
 */
export interface SessionStore {
  /**
   * Identifies this process among all users of a shared store; it is written as the owner of
   * the sessions opened here. Random per store instance.
   */
  readonly nodeId: string;

  /**
   * Creates `record` under `key` unless a record exists. Returns the stored record and whether
   * this call created it. `ttlMs` bounds how long an abandoned record lives.
   */
  create(key: string, record: SessionRecord, ttlMs: number): Awaitable<CreateResult>;

  /** The record under `key`, or undefined. */
  get(key: string): Awaitable<SessionRecord | undefined>;

  /** Changes fields of an existing record; false when there is none. */
  update(key: string, patch: SessionRecordPatch): Awaitable<boolean>;

  /**
   * Replaces the owner only if it is still `expectedOwner` (compare-and-set), so exactly one
   * process adopts a session whose owner died. True when this call changed it.
   */
  adopt(key: string, expectedOwner: string, newOwner: string): Awaitable<boolean>;

  /** Whether the process that registered `nodeId` is still alive (its own id always is). */
  isAlive(nodeId: string): Awaitable<boolean>;

  /** Renews the record's time to live (and, for an LRU, its recency). */
  touch(key: string, ttlMs: number): Awaitable<void>;

  /** Removes the record and its mailboxes. Removing a missing key is not an error. */
  delete(key: string): Awaitable<void>;

  /** Appends JSON-encoded messages to a mailbox and wakes its watchers. */
  push(key: string, mailbox: Mailbox, messages: readonly string[]): Awaitable<void>;

  /** Removes and returns everything in a mailbox, oldest first. */
  take(key: string, mailbox: Mailbox): Awaitable<string[]>;

  /** Calls `listener` after messages are pushed to the mailbox, until unsubscribed. */
  watch(key: string, mailbox: Mailbox, listener: () => void): Awaitable<Unsubscribe>;

  /**
   * Claims the single receiving connection of a session for `token`, and renews the record's
   * time to live by the `ttlMs` it was last given (by `create` or `touch`). False when another token holds it, or when there is no record (or
   * only a tombstone). The claim lapses after `ttlMs` unless renewed by `touch`-ing the record
   * while holding it (so a dead process cannot hold it forever).
   */
  claimReceiver(key: string, token: string, ttlMs: number): Awaitable<boolean>;

  /**
   * Releases the claim if `token` holds it, records `seenAt`, and renews the record's time to
   * live by the `ttlMs` it was last given (by `create` or `touch`).
   */
  releaseReceiver(key: string, token: string): Awaitable<void>;

  /**
   * Optional. Replaces the record by its tombstone: state CLOSED with this close frame, no
   * receiver claim, empty mailboxes, kept `ttlMs` and then gone. A tombstone is what `get` and
   * `create` return for the key meanwhile (so a client coming back gets the close frame and
   * never a new session on the same URL), but it no longer counts in `count()` or `keys()`, and
   * a store with a capacity drops tombstones before live records. Does nothing without a record.
   * Stores without it get `update` (state, close frame) and `touch(key, ttlMs)` instead.
   */
  bury?(key: string, closeCode: number, closeReason: string, ttlMs: number): Awaitable<void>;

  /** Sends `payload` to every subscriber of `topic` in every process sharing the store. */
  publish(topic: string, payload: string): Awaitable<void>;

  /** Receives what is published on `topic`, until unsubscribed. */
  subscribe(topic: string, listener: (payload: string) => void): Awaitable<Unsubscribe>;

  /** How many records the store holds, across every process sharing it. */
  count(): Awaitable<number>;

  /** Every key the store holds, across every process sharing it. */
  keys(): AsyncIterable<string>;

  /**
   * Registers the listener for records the store drops by itself (capacity eviction), so the
   * owner can close a live session properly. One listener per store: one store per route.
   */
  onEvict(listener: (key: string, record: SessionRecord) => void): void;

  /** Releases connections and timers. The store is unusable afterwards. */
  close(): Awaitable<void>;
}
