/**
 * The errors koa-sockjs throws. Each has a stable `code` so callers can branch on it
 * without parsing messages.
 */

/**
 * A wrong or unknown option, found when `sockjs()`, `new SessionManager()`, `new MemoryStore()`
 * or `new RedisStore()` checks its options at startup. The message says whose option it is,
 * names it and what was wrong: `koa-sockjs: option "prefix" must be a path starting with "/" ...`,
 * `MemoryStore: option "maxSessions" must be a positive integer, got 0`. A TypeError, as a
 * wrong option was before it had a class of its own.
 */
export class SockjsOptionError extends TypeError {
  /** Always `'SOCKJS_ERR_INVALID_OPTION'`. */
  readonly code = 'SOCKJS_ERR_INVALID_OPTION';
  constructor(
    /** The option that was wrong, e.g. `'prefix'` or `'transports.xhr-streaming'`. */
    readonly option: string,
    message: string,
    /** Whose option it is, as the message starts: `'koa-sockjs'`, `'MemoryStore'`, `'RedisStore'`. */
    readonly owner = 'koa-sockjs',
  ) {
    super(`${owner}: option "${option}" ${message}`);
    this.name = 'SockjsOptionError';
  }
}

/**
 * An argument of the wrong type given to a method: a room name that is not a non-empty string
 * (`session.join()`, `manager.to()`, `except()`), and the like. The message names the method
 * and what it got. A TypeError, as these were before they had a class of their own.
 */
export class SockjsArgumentError extends TypeError {
  /** Always `'SOCKJS_ERR_INVALID_ARGUMENT'`. */
  readonly code = 'SOCKJS_ERR_INVALID_ARGUMENT';
  constructor(message: string) {
    super(`koa-sockjs: ${message}`);
    this.name = 'SockjsArgumentError';
  }
}

/**
 * A number given to a method outside what it accepts: a close code that is not an integer from
 * 1000 to 4999 (`session.close()`), a negative byte count (`session.drain()`). The message
 * names the argument, the range and the value. A RangeError, as these were before they had a
 * class of their own.
 */
export class SockjsRangeError extends RangeError {
  /** Always `'SOCKJS_ERR_OUT_OF_RANGE'`. */
  readonly code = 'SOCKJS_ERR_OUT_OF_RANGE';
  constructor(message: string) {
    super(`koa-sockjs: ${message}`);
    this.name = 'SockjsRangeError';
  }
}

/**
 * An operation that the session's current state does not allow; the message names the state,
 * e.g. "session cannot move from state 3 (CLOSED) to 1 (OPEN)".
 */
export class SessionStateError extends Error {
  /** Always `'SOCKJS_ERR_SESSION_STATE'`. */
  readonly code = 'SOCKJS_ERR_SESSION_STATE';
  constructor(message: string) {
    super(`koa-sockjs: ${message}`);
    this.name = 'SessionStateError';
  }
}

/**
 * `ctx.sockjs(name)` asked for a route that was never mounted in this app; the message lists
 * the names that are.
 */
export class UnknownRouteError extends Error {
  /** Always `'SOCKJS_ERR_UNKNOWN_ROUTE'`. */
  readonly code = 'SOCKJS_ERR_UNKNOWN_ROUTE';
  constructor(
    /** The name that was asked for. */
    readonly routeName: string,
    known: readonly string[],
  ) {
    const list = known.length ? known.map((n) => JSON.stringify(n)).join(', ') : 'none';
    super(`koa-sockjs: no SockJS route named ${JSON.stringify(routeName)} (mounted: ${list})`);
    this.name = 'UnknownRouteError';
  }
}

/**
 * A value given to `session.send()` or `manager.broadcast()` that JSON cannot carry (a
 * BigInt, a cycle, a `toJSON()` that throws); `cause` is the error `JSON.stringify` threw.
 */
export class MessageEncodingError extends TypeError {
  /** Always `'SOCKJS_ERR_ENCODING'`. */
  readonly code = 'SOCKJS_ERR_ENCODING';
  constructor(cause: unknown) {
    super('koa-sockjs: message is not JSON-serialisable', { cause });
    this.name = 'MessageEncodingError';
  }
}

/**
 * A session store failed or answered something the contract does not allow. Reported through
 * `onError`; a request that needed the store gets 503.
 */
export class StoreError extends Error {
  /** `'SOCKJS_ERR_STORE'` (subclasses such as `RedisStoreError` keep it). */
  readonly code = 'SOCKJS_ERR_STORE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`koa-sockjs: ${message}`, options);
    this.name = 'StoreError';
  }
}
