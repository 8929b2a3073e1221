/**
 * The clock sessions and managers use. Injectable so tests of heartbeats and timeouts run
 * without sleeping; every timer the default clock makes is unref()'d so it never keeps the
 * process alive.
 */

/** An opaque timer handle. */
export type TimerHandle = unknown;

export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
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
