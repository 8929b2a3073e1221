/**
 * Session lifecycle. Transitions only move forward: NEW -> OPEN -> CLOSING -> CLOSED
 * (NEW -> CLOSING is allowed for a session closed before it opened). It lives beside the store
 * record, whose `state` it types, so the store layer needs nothing from the session layer above.
 */
import { SessionStateError } from '../errors.js';

/**
 * The states of a session (`session.state`), numbered like sockjs-node's `readyState` and the
 * WebSocket API's. A session only moves forward through them.
 */
export const SessionState = {
  /** Created; the client does not have its open frame yet. */
  NEW: 0,
  /** Open: `send()` delivers, `onMessage()` is called. */
  OPEN: 1,
  /**
   * Closing (by either side): nothing more is sent; `onClose()` runs (after any async hook still
   * running, so it may find the session CLOSED already).
   */
  CLOSING: 2,
  /** Closed: `onClosed()` has been called. The record may still serve its close frame. */
  CLOSED: 3,
} as const;

/** One of the {@link SessionState} numbers: 0 NEW, 1 OPEN, 2 CLOSING, 3 CLOSED. */
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

const STATE_NAMES = ['NEW', 'OPEN', 'CLOSING', 'CLOSED'] as const;

export function stateName(state: SessionState): string {
  return `${state} (${STATE_NAMES[state]})`;
}

/** Throws unless `to` may follow `from`. */
export function assertTransition(from: SessionState, to: SessionState): void {
  if (to > from) return;
  throw new SessionStateError(`session cannot move from state ${stateName(from)} to ${stateName(to)}`);
}
