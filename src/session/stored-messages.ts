/**
 * Messages that come back from a store: checked before they become frames or reach onMessage.
 * A networked store holds what other processes (or anything else with access to it) wrote, so
 * an entry can be corrupt: cut short, written by another program, or by a version that encoded
 * differently. One corrupt entry is dropped and reported through the error path (`onError`);
 * the good entries taken with it still go out, in their order.
 */
import { StoreError } from '../errors.js';
import { isEncodedMessage } from '../protocol/json.js';

export type ReportError = (error: unknown, context: string) => void;

function isValidOutgoing(text: unknown): boolean {
  return typeof text === 'string' && isEncodedMessage(text);
}

/** The entries of an outgoing mailbox (or a broadcast) that are safe to splice into a frame. */
export function checkedOutgoing(encoded: string[], report: ReportError, context: string): string[] {
  // The common case allocates nothing.
  if (encoded.every(isValidOutgoing)) return encoded;
  const kept = encoded.filter(isValidOutgoing);
  report(new StoreError(`dropped ${encoded.length - kept.length} corrupt outgoing message(s)`), context);
  return kept;
}

/** The decoded entries of an incoming mailbox; corrupt ones are dropped and reported. */
export function decodedIncoming(encoded: readonly string[], report: ReportError, context: string): unknown[] {
  const messages: unknown[] = [];
  let corrupt = 0;
  for (const text of encoded) {
    if (typeof text !== 'string') {
      corrupt++;
      continue;
    }
    try {
      messages.push(JSON.parse(text) as unknown);
    } catch {
      corrupt++;
    }
  }
  if (corrupt) report(new StoreError(`dropped ${corrupt} corrupt incoming message(s)`), context);
  return messages;
}
