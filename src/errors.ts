/**
 * The errors koa-sockjs throws. Each has a stable `code` so callers can branch on it
 * without parsing messages.
 */

/** A wrong option, found when `sockjs()` resolves its options at startup. */
export class SockjsOptionError extends TypeError {
  readonly code = 'SOCKJS_ERR_INVALID_OPTION';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`koa-sockjs: option "${option}" ${message}`);
    this.name = 'SockjsOptionError';
  }
}

/** An operation that the session's current state does not allow. */
export class SessionStateError extends Error {
  readonly code = 'SOCKJS_ERR_SESSION_STATE';
  constructor(message: string) {
    super(`koa-sockjs: ${message}`);
    this.name = 'SessionStateError';
  }
}

/** `ctx.sockjs(name)` asked for a route that was never mounted. */
export class UnknownRouteError extends Error {
  readonly code = 'SOCKJS_ERR_UNKNOWN_ROUTE';
  constructor(
    readonly routeName: string,
    known: readonly string[],
  ) {
    const list = known.length ? known.map((n) => JSON.stringify(n)).join(', ') : 'none';
    super(`koa-sockjs: no SockJS route named ${JSON.stringify(routeName)} (mounted: ${list})`);
    this.name = 'UnknownRouteError';
  }
}

/** A value given to `session.send()` or `manager.broadcast()` that JSON cannot carry. */
export class MessageEncodingError extends TypeError {
  readonly code = 'SOCKJS_ERR_ENCODING';
  constructor(cause: unknown) {
    super('koa-sockjs: message is not JSON-serialisable', { cause });
    this.name = 'MessageEncodingError';
  }
}

/** A session store failed or answered something the contract does not allow. */
export class StoreError extends Error {
  readonly code = 'SOCKJS_ERR_STORE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`koa-sockjs: ${message}`, options);
    this.name = 'StoreError';
  }
}
