/**
 * The client's side of SockJS framing: `o` (open), `h` (heartbeat),
 * `a[...]` (a JSON array of messages, possibly several), `c[code,"reason"]`
 * (close). On the xhr transports each frame is one line ending in `\n`.
 */

export const FRAME_OPEN = 0x6f; // 'o'
export const FRAME_HEARTBEAT = 0x68; // 'h'
export const FRAME_ARRAY = 0x61; // 'a'
export const FRAME_CLOSE = 0x63; // 'c'

const QUOTE = 0x22;

/**
 * Counts the messages of an `a[...]` frame without decoding it: the benchmark's
 * messages never contain a quote or a backslash, so each one adds exactly two `"`.
 */
export function countMessages(frame: Buffer, start = 0, end = frame.length): number {
  let quotes = 0;
  for (let i = start + 1; i < end; i++) if (frame[i] === QUOTE) quotes++;
  return quotes >> 1;
}

/** Decodes an `a[...]` frame (the `--verify` path): throws on anything malformed. */
export function decodeMessages(frame: Buffer, start = 0, end = frame.length): unknown[] {
  const value: unknown = JSON.parse(frame.toString('utf8', start + 1, end));
  if (!Array.isArray(value)) throw new Error(`not a SockJS array frame: ${describe(frame, start, end)}`);
  return value;
}

/** A short printable excerpt of a frame for error messages. */
export function describe(frame: Buffer, start = 0, end = frame.length): string {
  const text = frame.toString('utf8', start, Math.min(end, start + 80));
  return JSON.stringify(end - start > 80 ? `${text}…` : text);
}

/** The body of a client -> server SockJS message: a JSON array of strings. */
export function encodeSend(messages: readonly string[]): string {
  return JSON.stringify(messages);
}
