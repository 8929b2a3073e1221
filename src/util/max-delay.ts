/**
 * The longest delay Node's timers take: 2^31 - 1 milliseconds, about 24.8 days. A longer one
 * does not wait longer: Node prints a TimeoutOverflowWarning and fires it after 1 ms, so a
 * `heartbeatDelay` of 30 days would heartbeat every millisecond and `close({ timeout })` of a
 * month would not wait at all. Options that become timers are refused past it.
 */
export const MAX_DELAY_MS = 2_147_483_647;

/** The end of an option's message for a delay past MAX_DELAY_MS. */
export const MAX_DELAY_HINT = `at most ${MAX_DELAY_MS} (about 24.8 days, the longest delay of Node's timers)`;
