/**
 * The route's view of its store (internal, not exported): whatever store the application gave,
 * offering the session layer the full set of operations it uses, whether the store is shared
 * by several processes or not (issue 13).
 *
 * - A store that is not shared gets a random node id of its own, in-process publish/subscribe,
 *   and wake-ups after every push made through the adapter (one process sees every push).
 * - A shared store without a native `watch` gets wake-ups over its own publish/subscribe: the
 *   adapter publishes on a wake topic after each push it makes, and a watch subscribes to it.
 * - Adoption is a compare-and-set `update`; `count` falls back to the sessions the route runs
 *   here; `close` and `bury` may be absent.
 * - A store method that throws instead of rejecting fails like one that rejects: the caller
 *   gets a rejected promise, so the failure is reported and the request answered 503 or with
 *   a close frame, never a crash (issue 9).
 * - Every operation that reaches the store is timed (README, "Metrics"), in the same layer.
 *
 * Synchronous answers stay synchronous: an in-process store costs no microtask per operation.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SockjsOptionError, StoreError } from '../errors.js';
import { isPromiseLike } from '../util/awaitable.js';
import { checkBoolean, checkCount, checkCreated, checkMessages, checkMessagesOrRefused, checkRecordOrNothing, type AnswerCheck } from './answers.js';
import type { Awaitable, CreateResult, Mailbox, SessionRecord, SessionRecordPatch, SessionStore, SharedSessionStore, Unsubscribe } from './store.js';

/** Where the adapter times store operations (the route's metrics). */
export interface StoreMeter {
  storeStarted(): void;
  storeDone(operation: string, seconds: number, error?: unknown): void;
}

export interface StoreAdapterOptions {
  readonly meter: StoreMeter;
  /** How many sessions the route runs in this process: `count()` of a store without one. */
  readonly localCount: () => number;
  /** Where a throwing in-process subscriber goes (it must not break the publisher). */
  readonly reportError: (error: unknown, context: string) => void;
}

const CORE = ['create', 'get', 'update', 'touch', 'delete', 'push', 'take', 'claimReceiver', 'releaseReceiver'] as const;
const OPTIONAL = ['bury', 'count', 'close', 'claimAndTake'] as const;
const SHARED = ['isAlive', 'publish', 'subscribe'] as const;

type Listener = (payload: string) => void;

const kindOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);
const methodList = (names: readonly string[]): string => names.map((name) => `${name}()`).join(', ');

/**
 * Checks, when the route is built, that `store` implements the contract: every core method,
 * optional ones that are functions if present, and, for a store that declares itself shared
 * (it has a `nodeId`), the whole shared capability.
 * @throws {@link SockjsOptionError} for option `store`, naming what is missing.
 */
export function checkStore(store: unknown): asserts store is SessionStore {
  if (typeof store !== 'object' || store === null) {
    throw new SockjsOptionError('store', `must be a session store (an object implementing SessionStore; see docs/stores.md), got ${kindOf(store)}`);
  }
  const methods = store as Record<string, unknown>;
  const missing = CORE.filter((name) => typeof methods[name] !== 'function');
  if (missing.length) {
    throw new SockjsOptionError('store', `lacks ${methodList(missing)}: a store implements every method of SessionStore (docs/stores.md)`);
  }
  const wrong = OPTIONAL.filter((name) => methods[name] !== undefined && typeof methods[name] !== 'function');
  if (wrong.length) throw new SockjsOptionError('store', `has ${wrong.join(', ')} but not as ${wrong.length > 1 ? 'functions' : 'a function'}`);
  const { nodeId } = methods;
  if (nodeId === undefined) {
    // Without a nodeId the store is taken for an in-process one: its own publish/subscribe would
    // go unused and broadcasts, rooms and hand-overs would stay inside each process, silently.
    const sharedParts = [...SHARED, 'watch'].filter((name) => typeof methods[name] === 'function');
    if (sharedParts.length) {
      throw new SockjsOptionError(
        'store',
        `has ${methodList(sharedParts)} of a shared store but no nodeId: a shared store has a nodeId unique to this instance (SharedSessionStore, docs/stores.md); a store of one process has none of these`,
      );
    }
    return;
  }
  const lacking: string[] = SHARED.filter((name) => typeof methods[name] !== 'function').map((name) => `${name}()`);
  if (typeof nodeId !== 'string' || nodeId === '') lacking.unshift('a non-empty string nodeId');
  if (methods['watch'] !== undefined && typeof methods['watch'] !== 'function') lacking.push('a watch that is a function');
  if (lacking.length) {
    throw new SockjsOptionError(
      'store',
      `declares itself shared (it has a nodeId) but lacks ${lacking.join(', ')}: a shared store implements all of SharedSessionStore (docs/stores.md)`,
    );
  }
}

/** A shared store is one with a node id (checked complete by {@link checkStore}). */
function asShared(store: SessionStore): SharedSessionStore | undefined {
  return (store as Partial<SharedSessionStore>).nodeId !== undefined ? (store as SharedSessionStore) : undefined;
}

/** A StoreError for an answer of `operation()` that `check` finds wrong, or undefined. */
function answerError(operation: string, answer: unknown, check: AnswerCheck): StoreError | undefined {
  const problem = check(answer);
  return problem === undefined ? undefined : new StoreError(`the store's ${operation}() answered ${problem} (store contract: docs/stores.md)`);
}

/** `claimAndTake`'s refusal (null) as the adapter answers it: false. */
function refusedAsFalse(taken: string[] | null): string[] | false {
  return taken ?? false;
}

/** How far down `store`'s prototype chain its `name` is defined: 0 on the object itself. */
function definedAt(store: object, name: string): number {
  let depth = 0;
  for (let at: object | null = store; at !== null; at = Object.getPrototypeOf(at) as object | null, depth++) {
    if (Object.prototype.hasOwnProperty.call(at, name)) return depth;
  }
  return Infinity;
}

/**
 * Whether the store's `claimAndTake` may stand for its `claimReceiver` and `take`: not when a
 * subclass (or the object itself) overrides either of them below the class that wrote
 * `claimAndTake`, as a store extending MemoryStore to filter or log `take` does. The inherited
 * `claimAndTake` would not call the override, so such a store is served by its two methods.
 */
function claimAndTakeOf(store: SessionStore): SessionStore['claimAndTake'] {
  if (typeof store.claimAndTake !== 'function') return undefined;
  const at = definedAt(store, 'claimAndTake');
  return at <= definedAt(store, 'take') && at <= definedAt(store, 'claimReceiver') ? store.claimAndTake : undefined;
}

/** Wake topics are the adapter's own: no topic of the session layer starts with `wake:`. */
function wakeTopic(key: string, mailbox: Mailbox): string {
  return `wake:${mailbox}:${key}`;
}

/**
 * The full set of store operations the session layer uses, over any {@link SessionStore}; see
 * the file comment. Every method answers a value or a promise and never throws.
 */
export class StoreAdapter {
  /** This process among those sharing the store: the store's own, or a random local one. */
  readonly nodeId: string;
  /** Whether other processes share the store (sessions may be handed over to them). */
  readonly shared: boolean;
  /** Present when the store has `bury` (the session layer falls back to update and touch). */
  readonly bury: ((key: string, closeCode: number, closeReason: string, ttlMs: number) => Awaitable<void>) | undefined;

  readonly #store: SessionStore;
  readonly #sharedStore: SharedSessionStore | undefined;
  /** True when wake-ups come from the store itself (a shared store with `watch`). */
  readonly #nativeWatch: boolean;
  readonly #options: StoreAdapterOptions;
  /** In-process topics: every topic of a store that is not shared. */
  readonly #topics = new Map<string, Set<Listener>>();

  /** @throws {@link SockjsOptionError} for a store that does not implement the contract. */
  constructor(store: SessionStore, options: StoreAdapterOptions) {
    checkStore(store);
    this.#store = store;
    this.#options = options;
    this.#sharedStore = asShared(store);
    this.shared = this.#sharedStore !== undefined;
    this.nodeId = this.#sharedStore?.nodeId ?? `local-${randomUUID()}`;
    this.#nativeWatch = typeof this.#sharedStore?.watch === 'function';
    this.bury = store.bury ? (key, closeCode, closeReason, ttlMs) => this.#call('bury', () => store.bury!(key, closeCode, closeReason, ttlMs)) : undefined;
  }

  create(key: string, record: SessionRecord, ttlMs: number): Awaitable<CreateResult> {
    return this.#call('create', () => this.#store.create(key, record, ttlMs), checkCreated);
  }

  get(key: string): Awaitable<SessionRecord | undefined> {
    return this.#call('get', () => this.#store.get(key), checkRecordOrNothing);
  }

  update(key: string, patch: SessionRecordPatch): Awaitable<boolean> {
    return this.#call('update', () => this.#store.update(key, patch), checkBoolean);
  }

  /** Makes `newOwner` the owner if `expectedOwner` still is (compare-and-set `update`). */
  adopt(key: string, expectedOwner: string, newOwner: string): Awaitable<boolean> {
    return this.#call('update', () => this.#store.update(key, { owner: newOwner }, expectedOwner), checkBoolean);
  }

  touch(key: string, ttlMs: number): Awaitable<void> {
    return this.#call('touch', () => this.#store.touch(key, ttlMs));
  }

  delete(key: string): Awaitable<void> {
    return this.#call('delete', () => this.#store.delete(key));
  }

  /** Appends to a mailbox, then wakes its watchers (unless the store does it natively). */
  push(key: string, mailbox: Mailbox, messages: readonly string[]): Awaitable<void> {
    const pushed = this.#call('push', () => this.#store.push(key, mailbox, messages));
    if (this.#nativeWatch || messages.length === 0) return pushed;
    if (isPromiseLike(pushed)) return pushed.then(() => this.#wake(key, mailbox));
    return this.#wake(key, mailbox);
  }

  take(key: string, mailbox: Mailbox): Awaitable<string[]> {
    return this.#call('take', () => this.#store.take(key, mailbox), checkMessages);
  }

  /** Calls `listener` after pushes to the mailbox (by any process sharing the store). */
  watch(key: string, mailbox: Mailbox, listener: () => void): Awaitable<Unsubscribe> {
    const shared = this.#sharedStore;
    if (shared?.watch) return this.#call('watch', () => shared.watch!(key, mailbox, listener));
    return this.subscribe(wakeTopic(key, mailbox), () => listener());
  }

  claimReceiver(key: string, token: string, ttlMs: number): Awaitable<boolean> {
    return this.#call('claimReceiver', () => this.#store.claimReceiver(key, token, ttlMs), checkBoolean);
  }

  /**
   * Claims the receiving connection and, when the store has `claimAndTake`, takes the outgoing
   * mailbox in the same call: the messages (maybe none) when claimed with them, true when
   * claimed without them (a store without `claimAndTake`: the caller takes the mailbox), false
   * when refused (nothing taken).
   */
  claimAndTake(key: string, token: string, ttlMs: number): Awaitable<string[] | boolean> {
    const store = this.#store;
    // Looked up on every poll (a few property lookups against a request's ~100 µs), so a store
    // patched at run time is served as it is now.
    const claimAndTake = claimAndTakeOf(store);
    if (claimAndTake === undefined) return this.claimReceiver(key, token, ttlMs);
    const taken = this.#call('claimAndTake', () => claimAndTake.call(store, key, token, ttlMs), checkMessagesOrRefused);
    if (isPromiseLike(taken)) return taken.then(refusedAsFalse);
    return refusedAsFalse(taken);
  }

  releaseReceiver(key: string, token: string): Awaitable<void> {
    return this.#call('releaseReceiver', () => this.#store.releaseReceiver(key, token));
  }

  /** Whether the process of `nodeId` lives: only this one, unless the store is shared. */
  isAlive(nodeId: string): Awaitable<boolean> {
    const shared = this.#sharedStore;
    if (nodeId === this.nodeId || !shared) return nodeId === this.nodeId;
    return this.#call('isAlive', () => shared.isAlive(nodeId), checkBoolean);
  }

  publish(topic: string, payload: string): Awaitable<void> {
    const shared = this.#sharedStore;
    if (shared) return this.#call('publish', () => shared.publish(topic, payload));
    const listeners = this.#topics.get(topic);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      // One subscriber's fault must not keep the others from the message, nor reach the publisher.
      try {
        listener(payload);
      } catch (error) {
        this.#options.reportError(error, `subscriber of ${topic.startsWith('wake:') ? 'a wake-up' : topic}`);
      }
    }
  }

  subscribe(topic: string, listener: Listener): Awaitable<Unsubscribe> {
    const shared = this.#sharedStore;
    if (shared) return this.#call('subscribe', () => shared.subscribe(topic, listener));
    let listeners = this.#topics.get(topic);
    if (!listeners) this.#topics.set(topic, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#topics.get(topic) === listeners) this.#topics.delete(topic);
    };
  }

  /** The store's count, or without one the sessions the route runs here. */
  count(): Awaitable<number> {
    const store = this.#store;
    if (!store.count) return this.#options.localCount();
    return this.#call('count', () => store.count!(), checkCount);
  }

  /** Closes the store, if it has anything to close; in-process topics are dropped. */
  close(): Awaitable<void> {
    this.#topics.clear();
    const store = this.#store;
    if (!store.close) return;
    return this.#guard(() => store.close!());
  }

  /**
   * Wakes a mailbox's watchers after a push that succeeded. A wake-up that fails is reported,
   * not thrown: the messages are stored, so the request that pushed them has done its part (a
   * 503 would make the client send them again, twice); they reach their reader at its next
   * pull, as after a wake-up lost on the way.
   */
  #wake(key: string, mailbox: Mailbox): Awaitable<void> {
    const report = (error: unknown): void => this.#options.reportError(error, `wake-up after a push to ${mailbox} of ${key}`);
    try {
      const woken = this.publish(wakeTopic(key, mailbox), '');
      if (isPromiseLike(woken)) return Promise.resolve(woken).then(undefined, report);
    } catch (error) {
      report(error);
    }
  }

  /**
   * Runs a store operation, timed; a synchronous throw becomes a rejection, and so does an
   * answer the contract does not allow (`check`, see answers.ts).
   */
  #call<T>(operation: string, run: () => Awaitable<T>, check?: AnswerCheck): Awaitable<T> {
    const { meter } = this.#options;
    meter.storeStarted();
    const started = performance.now();
    let result: Awaitable<T>;
    try {
      result = run();
    } catch (error) {
      meter.storeDone(operation, (performance.now() - started) / 1000, error ?? new Error('store threw undefined'));
      return Promise.reject(error);
    }
    if (!isPromiseLike(result)) {
      const wrong = check && answerError(operation, result, check);
      meter.storeDone(operation, (performance.now() - started) / 1000, wrong);
      return wrong ? Promise.reject(wrong) : result;
    }
    return result.then(
      (value) => {
        const wrong = check && answerError(operation, value, check);
        meter.storeDone(operation, (performance.now() - started) / 1000, wrong);
        if (wrong) throw wrong;
        return value;
      },
      (error: unknown) => {
        meter.storeDone(operation, (performance.now() - started) / 1000, error ?? new Error('store rejected with undefined'));
        throw error;
      },
    );
  }

  /** Runs a store call that is not timed; a synchronous throw becomes a rejection. */
  #guard<T>(run: () => Awaitable<T>): Awaitable<T> {
    try {
      return run();
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
