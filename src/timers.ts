/**
 * The clock sessions and managers use. Injectable so tests of heartbeats and timeouts run
 * without sleeping; every timer the default clock makes is unref()'d so it never keeps the
 * process alive.
 */

/** An opaque timer handle. */
export type TimerHandle = unknown;

/**
 * A clock: the `timers` option of `sockjs()` and `SessionManager`. The default uses Node's
 * timers, `unref()`'d, and `Date.now`; tests pass a fake one (test/helpers/fake-timers.ts).
 */
export interface Timers {
  /** Calls `callback` once after `ms` milliseconds; must not keep the process alive. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer from `setTimeout`; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
  /** Epoch milliseconds. */
  now(): number;
}

export const systemTimers: Timers = {
  setTimeout(callback, ms) {
    return setTimeout(callback, ms).unref();
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
  now: Date.now,
};
