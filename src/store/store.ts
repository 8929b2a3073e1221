/**
 * The SessionStore contract: where a route keeps session records and their message queues.
 *
 * One store serves one route. A store may be in-process (MemoryStore) or networked (Redis):
 * every operation may answer a value or a Promise of it, and callers always handle both. The
 * websocket hot path never touches the store per frame: frames go straight from a Session to
 * its connection, and the store only sees a websocket session open and close.
 *
 * The contract has two parts. {@link SessionStore} is what every store implements: records
 * with a compare-and-set `update`, two mailboxes per session, one receiver claim, time to live.
 * {@link SharedSessionStore} adds what stores shared by several processes need on top: a node
 * id and liveness, publish/subscribe, and an optional native wake-up. Everything else the
 * route needs (an id for a store that is not shared, in-process pub/sub and wake-ups, adoption
 * as a compare-and-set `update`, metering, turning a method that throws into a failed operation)
 * the route builds itself around whatever store it is given (`store/adapter.ts`, internal).
 *
 * Rules every store follows (`describeStoreContract()` in `store/contract.ts`, exported as
 * `koa-sockjs/store-contract`, checks each one; docs/stores.md explains them):
 * - Operations on one key take effect in the order they were called.
 * - `create` is atomic: of two concurrent creates for one key exactly one reports `created`.
 * - `update` with an `expectedOwner` is a compare-and-set: it changes the record only if its
 *   owner is still that one, atomically, so exactly one process adopts an orphaned session.
 * - `push` appends in order; `take` removes and returns everything queued, atomically, so a
 *   message is taken exactly once.
 * - `claimReceiver` is atomic: while a receiver holds the claim, another claim fails.
 * - A record's time to live is renewed by every operation that is a sign of its client's
 *   activity: `create`, `claimReceiver` (a receiving request arrives), `touch` (heartbeats,
 *   messages, a live connection) and `releaseReceiver` (a receiving request ends). The route
 *   calls one of them for every sign of life, so a session in use never lapses (issue 9). An
 *   expired record and its mailboxes are gone; a store may leave a tombstone in its place (see
 *   `bury`), as MemoryStore does.
 * - A method fails by throwing or by rejecting (ideally with a `StoreError`); either way the
 *   route reports it through `onError` and answers the request that needed it with 503 or the
 *   close frame `c[3503,"Session store unavailable"]`. The process goes on.
 */
import type { SessionState } from './session-state.js';

/** A value, or a promise of it: in-memory stores answer synchronously. */
export type Awaitable<T> = T | Promise<T>;

/** Stops a watch or subscription. */
export type Unsubscribe = () => Awaitable<void>;

/** The two queues of a session: `outgoing` for its client, `incoming` from it. */
export type Mailbox = 'outgoing' | 'incoming';

/** What a store keeps about one session besides its mailboxes. */
export interface SessionRecord {
  /** The server-made session id (`Session.id`), never the client's URL session id. */
  readonly id: string;
  /**
   * The process that runs this session's hooks: the `nodeId` of its
   * {@link SharedSessionStore} instance, or, with a store that is not shared, a random id the
   * route makes up for itself. A store keeps it as given and changes it only through `update`.
   */
  owner: string;
  /** The session's state, as the owner last wrote it. */
  state: SessionState;
  /** Once closed: the close frame served to every later receiver until the record expires. */
  closeCode?: number | undefined;
  /** Once closed: the reason of that close frame. */
  closeReason?: string | undefined;
  /**
   * Token of the receiving connection that holds the claim, if any: a live connection. A record
   * created with one (a websocket session's) holds the claim from the start.
   */
  receiver?: string | undefined;
  /** Epoch ms when a receiver last released the claim (or the record was created). */
  seenAt: number;
  /** Transport that opened the session, e.g. `xhr-polling`. */
  transport: string;
  /**
   * Digest of the identity that created the session (the `identity` option), compared on every
   * request for it, by whichever process serves the request. Absent when sessions are not bound.
   */
  readonly identity?: string | undefined;
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
 * Where a route keeps session records and their two message queues: the part of the contract
 * every store implements (9 methods, 3 more optional). Pass one as the `store` option.
 * `MemoryStore` (the default) and `RedisStore` implement it; so can yours, in an afternoon:
 * docs/stores.md walks through a complete one, and `describeStoreContract()` from
 * `koa-sockjs/store-contract` checks every rule below.
 *
 * Every method may answer a value or a promise ({@link Awaitable}). Keys are the route's
 * session keys (a client's session id from its URL, or `ws/<uuid>` for a websocket session):
 * opaque strings of at most a few hundred characters, which a store may prefix but must not
 * otherwise change. Times to live are milliseconds from the call. Messages are JSON texts the
 * store keeps as opaque strings, in order.
 *
 * A store that several processes share implements {@link SharedSessionStore} as well.
 */
export interface SessionStore {
  /**
   * Creates `record` under `key` unless a record (or a tombstone, see `bury`) is there, living
   * `ttlMs` unless renewed. Atomic: of concurrent creates for one key exactly one answers
   * `created: true`, and every one answers the record that won. A record created with a
   * `receiver` holds the receiver claim from the start (a websocket session's).
   * Suite: "creates a record once", "lets exactly one of many concurrent creates win",
   * "holds the claim of a record created with a receiver".
   */
  create(key: string, record: SessionRecord, ttlMs: number): Awaitable<CreateResult>;

  /**
   * The record under `key` (or its tombstone), or undefined. A claim whose holder stopped
   * renewing it for its `ttlMs` no longer shows as `receiver`. Does not renew anything.
   */
  get(key: string): Awaitable<SessionRecord | undefined>;

  /**
   * Changes the fields of `patch` on the record under `key`, leaving every other field as it
   * is; answers false when there is no record.
   *
   * With `expectedOwner`, a compare-and-set: the record is changed only if its `owner` is
   * `expectedOwner` at that moment, checked and written atomically, and the answer says whether
   * it was. This is how a process adopts a session whose owner died: of several processes
   * calling `update(key, { owner: self }, deadOwner)` at once, exactly one gets true.
   * Suite: "gets, updates and deletes records", "updates only from the expected owner
   * (compare-and-set)", "lets exactly one of concurrent compare-and-set updates win".
   */
  update(key: string, patch: SessionRecordPatch, expectedOwner?: string): Awaitable<boolean>;

  /**
   * Renews the record's time to live to `ttlMs` from now (and, for an LRU, its recency), and
   * the receiver claim's if one is held. Does nothing without a live record, and never renews a
   * tombstone. Suite: "expires records after their time to live, unless touched".
   */
  touch(key: string, ttlMs: number): Awaitable<void>;

  /** Removes the record (or tombstone) and both mailboxes. Removing a missing key is not an error. */
  delete(key: string): Awaitable<void>;

  /**
   * Appends JSON-encoded messages to a mailbox of the record under `key`, in order. Without a
   * live record it does nothing (the messages are dropped: a push must not create a mailbox
   * that outlives its session). Suite: "queues messages in order", "drops pushes to a missing
   * record".
   */
  push(key: string, mailbox: Mailbox, messages: readonly string[]): Awaitable<void>;

  /**
   * Removes and returns everything in a mailbox, oldest first; `[]` when it is empty or there
   * is no record. Atomic with `push`: every message pushed is taken exactly once, even by
   * concurrent takers. Suite: "never hands one message to two concurrent takers".
   */
  take(key: string, mailbox: Mailbox): Awaitable<string[]>;

  /**
   * Claims the single receiving connection of a session for `token`, and renews the record's
   * time to live by the `ttlMs` it was last given (by `create` or `touch`). Answers true when
   * `token` holds the claim now (claiming again with the same token is fine); false when
   * another token holds it, or when there is no record (or only a tombstone). Atomic. The claim
   * lapses after `ttlMs` unless renewed by `touch`-ing the record while holding it, so a dead
   * process cannot hold it forever. Suite: "lets one receiver claim a session at a time", "lets
   * a claim lapse", "keeps a claim its holder renews with touch", "renews the time to live on
   * every sign of activity".
   */
  claimReceiver(key: string, token: string, ttlMs: number): Awaitable<boolean>;

  /**
   * Releases the claim if `token` holds it (otherwise does nothing), sets `seenAt` to now
   * (epoch ms), and renews the record's time to live by the `ttlMs` it was last given.
   */
  releaseReceiver(key: string, token: string): Awaitable<void>;

  /**
   * Optional. `claimReceiver` and, when the claim is granted, `take(key, 'outgoing')`, in one
   * atomic step (for a networked store, one round trip instead of two on every long poll).
   * Answers what the outgoing mailbox held, oldest first (`[]` when empty), when `token` holds
   * the claim now; `null` when the claim is refused, and then nothing is taken. Stores without
   * it get `claimReceiver` followed by `take`, and so does a store whose `take` or
   * `claimReceiver` is overridden below the class that wrote `claimAndTake` (a subclass of
   * MemoryStore or RedisStore that filters `take`: the inherited `claimAndTake` would bypass it).
   * Suite: "claims and takes the outgoing mailbox in one step" (skipped without it).
   */
  claimAndTake?(key: string, token: string, ttlMs: number): Awaitable<string[] | null>;

  /**
   * Optional. Replaces the record by its tombstone: state CLOSED with this close frame, no
   * receiver claim, empty mailboxes, kept `ttlMs` and then gone. A tombstone is what `get` and
   * `create` return for the key meanwhile (so a client coming back gets the close frame and
   * never a new session on the same URL), but it no longer counts in `count()`, `touch` does
   * not renew it, and a store with a capacity drops tombstones before live records. Does
   * nothing without a record. Stores without it get `update` (state, close frame) and
   * `touch(key, ttlMs)` instead. Suite: "buries a record" (skipped without `bury`).
   */
  bury?(key: string, closeCode: number, closeReason: string, ttlMs: number): Awaitable<void>;

  /**
   * Optional. How many live records the store holds (tombstones not included), across every
   * process sharing it. Used by `manager.count()` and the `limits.maxSessions` option; without
   * it the route counts the sessions it runs itself, which for a store shared by several
   * processes is this process's share only. Suite: "counts its records" (skipped without it).
   */
  count?(): Awaitable<number>;

  /**
   * Optional. Releases connections and timers; called once by `manager.close()` (the route's
   * shutdown). The store is unusable afterwards.
   */
  close?(): Awaitable<void>;
}

/**
 * The capability of a store that several processes share (RedisStore): each process has its
 * own instance, and they see one another's records. A store declares it by having a `nodeId`;
 * the route then checks, when it is built, that the rest is there too (a
 * `SockjsOptionError` for option `store` names what is missing).
 *
 * With it, a session lives in the process that opened it (its `owner`), a client's request may
 * land on any process, and the processes talk over `publish`/`subscribe`: broadcasts and rooms,
 * "your session's receiving connection went away", and wake-ups when a mailbox gets messages.
 * When a process dies, the next request for one of its sessions finds `isAlive(owner)` false
 * and adopts the session (`update(key, { owner }, deadOwner)`).
 *
 * Suite: `describeStoreContract(name, { create, createPeer })` runs the "shared between
 * processes" tests on two instances sharing one namespace.
 */
export interface SharedSessionStore extends SessionStore {
  /**
   * Identifies this instance (one per process) among all users of the shared store, for as
   * long as it lives: written as the owner of the sessions opened here. Unique, e.g.
   * `redis-<uuid>`; a non-empty string.
   */
  readonly nodeId: string;

  /**
   * Whether the instance that has `nodeId` is alive: true for its own id; for another, true
   * while that instance runs and renews its liveness, false once it closed (at once) or died
   * (after a lapse the store chooses, e.g. RedisStore's `nodeTtl`). Suite: "knows its own node
   * is alive", "reports a closed peer as no longer alive".
   */
  isAlive(nodeId: string): Awaitable<boolean>;

  /**
   * Sends `payload` (any string, newlines included) to every subscriber of `topic` in every
   * process sharing the store, this one included. Delivery is at most once; messages of one
   * publisher to one topic arrive in the order published. Suite: "publishes to subscribers of
   * a topic only".
   */
  publish(topic: string, payload: string): Awaitable<void>;

  /**
   * Calls `listener` with every payload published on `topic` from when the answer is ready
   * until unsubscribed. Several listeners may subscribe to one topic.
   */
  subscribe(topic: string, listener: (payload: string) => void): Awaitable<Unsubscribe>;

  /**
   * Optional: a native wake-up. Calls `listener` after messages are pushed to the mailbox of
   * `key`, by any process, until unsubscribed; a spurious call is allowed (the listener then
   * finds the mailbox empty). Without it the route publishes on a wake topic of its own after
   * each push it makes, and subscribes to that topic instead. RedisStore has it: its `push`
   * publishes the wake-up in the same script. Suite: "wakes watchers after a push" (skipped
   * without it).
   */
  watch?(key: string, mailbox: Mailbox, listener: () => void): Awaitable<Unsubscribe>;
}
