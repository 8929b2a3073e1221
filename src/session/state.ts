/**
 * Session lifecycle. Transitions only move forward: NEW -> OPEN -> CLOSING -> CLOSED
 * (NEW -> CLOSING is allowed for a session closed before it opened).
 */
import { SessionStateError } from '../errors.js';

export const SessionState = {
  NEW: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;

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
