/**
 * What a store may answer, checked where the adapter receives it (issue 13). A store that breaks
 * the contract (a `get` answering a string, a `take` answering something not an array of
 * strings, a `create` answering nothing) would otherwise fail deep in the session layer with a
 * TypeError, or worse be read as "no such session" (404) or answer a poll with an empty body.
 * Checked here it fails like a store that rejected, with a StoreError naming the method and
 * what came back: reported through `onError`, the request answered 503 or `c[3503,...]`.
 *
 * Each check answers what is wrong, or undefined when the answer fits the contract. The checks
 * read only the fields the route relies on; a store may keep more.
 */
import { SessionState } from './session-state.js';

export type AnswerCheck = (answer: unknown) => string | undefined;

const STATES: readonly unknown[] = Object.values(SessionState);

function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return typeof value === 'object' ? 'an object' : typeof value === 'undefined' ? 'undefined' : `${typeof value} ${String(value)}`;
}

function recordProblem(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return `${shown(record)}, not a SessionRecord`;
  const fields = record as Record<string, unknown>;
  if (typeof fields['id'] !== 'string') return 'a record without a string id';
  if (typeof fields['owner'] !== 'string') return 'a record without a string owner';
  if (!STATES.includes(fields['state'])) return `a record whose state is ${shown(fields['state'])}, not a SessionState (0 to 3)`;
  return undefined;
}

export const checkRecordOrNothing: AnswerCheck = (answer) => (answer === undefined ? undefined : recordProblem(answer));

export const checkCreated: AnswerCheck = (answer) => {
  if (typeof answer !== 'object' || answer === null) return `${shown(answer)}, not { record, created }`;
  const { record, created } = answer as { record?: unknown; created?: unknown };
  if (typeof created !== 'boolean') return `{ created: ${shown(created)} }, not a boolean`;
  const problem = recordProblem(record);
  return problem && `{ record: ${problem} }`;
};

export const checkBoolean: AnswerCheck = (answer) => (typeof answer === 'boolean' ? undefined : `${shown(answer)}, not a boolean`);

export const checkCount: AnswerCheck = (answer) => (typeof answer === 'number' && Number.isInteger(answer) && answer >= 0 ? undefined : `${shown(answer)}, not a count`);

/** Entries that are not strings are the corrupt-entry path's (stored-messages.ts): only the array is checked here. */
export const checkMessages: AnswerCheck = (answer) => (Array.isArray(answer) ? undefined : `${shown(answer)}, not an array of messages`);

/** What `claimAndTake` answers: the taken messages, or null for a refused claim. */
export const checkMessagesOrRefused: AnswerCheck = (answer) => (answer === null ? undefined : checkMessages(answer));
