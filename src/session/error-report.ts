/**
 * How koa-sockjs reports a failed hook or store operation: one error path, Koa's. The error is
 * given the route and session it happened in, then goes to the route's `onError`, or by default
 * to `app.emit('error', error)` of the Koa app serving the route, where the application's own
 * error reporting (or Koa's default handler) already listens.
 */

/** What koa-sockjs adds to an error it reports, as `error.sockjs`. */
export interface SockjsErrorDetails {
  /** The route's name (`''` for the default route). */
  readonly route: string;
  /** The session's server id, when the error belongs to one session. */
  readonly sessionId?: string | undefined;
  /** What was being done, e.g. `onMessage of session <id>` or `store take`. */
  readonly context: string;
}

/** An error as reported: a real Error, carrying its SockJS details. */
export interface SockjsReportedError extends Error {
  /** Where the error happened: the route, the session and what was being done. */
  sockjs?: SockjsErrorDetails | undefined;
}

/** Errors of another realm fail instanceof; Koa checks the same way. */
function isError(value: unknown): value is Error {
  return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
}

/**
 * The error with its details: the error itself when it can carry them (it keeps its class,
 * stack and identity), otherwise a wrapping Error whose `cause` is the thrown value (Koa's
 * 'error' listeners expect an Error).
 */
export function withDetails(error: unknown, details: SockjsErrorDetails): SockjsReportedError {
  if (isError(error)) {
    const reported = error as SockjsReportedError;
    // One error object reported twice (a constant a hook throws, a store's shared error) keeps
    // its first details; the second report gets a wrapper with its own.
    if (reported.sockjs === undefined && Object.isExtensible(reported)) {
      reported.sockjs = details;
      return reported;
    }
  }
  const wrapped: SockjsReportedError = new Error(`koa-sockjs: ${details.context}: ${isError(error) ? error.message : String(error)}`, { cause: error });
  wrapped.sockjs = details;
  return wrapped;
}

/** The part of a Koa application the error path needs. */
export interface ErrorSink {
  emit(event: 'error', error: Error): boolean;
  listenerCount(event: 'error'): number;
}
