/** Helpers that keep synchronous store answers synchronous (no microtask per operation). */

/** A value now, or a promise of it (the store contract's `Awaitable`, declared here too so util needs no store). */
type Awaitable<T> = T | Promise<T>;

export function isPromiseLike<T>(value: Awaitable<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * Calls `next` with the value: now if it is ready, later if it is a promise. Errors, of the
 * store or thrown by `next` itself, go to `fail` (never to an unhandled rejection).
 */
export function whenReady<T>(value: Awaitable<T>, next: (value: T) => void, fail: (error: unknown) => void): void {
  if (isPromiseLike(value)) {
    value.then((ready) => settle(next, ready, fail), fail);
    return;
  }
  settle(next, value, fail);
}

/** Sends a rejection of `result`, if it is a promise, to `onError`; a sync result needs nothing. */
export function catchRejection(result: unknown, onError: (error: unknown) => void): void {
  if (isPromiseLike(result as Promise<unknown>)) (result as Promise<unknown>).then(undefined, onError);
}

function settle<T>(next: (value: T) => void, value: T, fail: (error: unknown) => void): void {
  try {
    next(value);
  } catch (error) {
    fail(error);
  }
}
