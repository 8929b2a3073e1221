/**
 * Message content shared by the bench servers and the load generator.
 *
 * Every message is exactly {@link MESSAGE_BYTES} ASCII bytes: a kind letter, a
 * session number, a sequence number and padding. The characters used never need
 * JSON escaping, so a SockJS frame `a["m1","m2"]` holds exactly two `"` per
 * message — the load generator counts messages by counting quotes, and `--verify`
 * decodes every message and checks it against the one expected next.
 */

/** Size of every benchmark message, as the issue asks (64-byte messages). */
export const MESSAGE_BYTES = 64;

/** Width of the zero-padded sequence number inside a message. */
export const SEQ_DIGITS = 10;

/** Width of the zero-padded session number inside an echo message. */
export const SESSION_DIGITS = 5;

/**
 * Echo message layout: `e` + session(5) + `:` + seq(10) + `:` + `x` padding.
 * The sequence digits start at {@link ECHO_SEQ_OFFSET}, so a pre-built frame can
 * be patched in place for each new message.
 */
export const ECHO_SEQ_OFFSET = 1 + SESSION_DIGITS + 1;

const PAD = 'x'.repeat(MESSAGE_BYTES);

function pad(prefix: string): string {
  return prefix + PAD.slice(prefix.length);
}

function digits(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

export function echoMessage(session: number, seq: number): string {
  return pad(`e${digits(session, SESSION_DIGITS)}:${digits(seq, SEQ_DIGITS)}:`);
}

/** Broadcast message layout: `b` + seq(10) + `:` + padding. */
export function broadcastMessage(seq: number): string {
  return pad(`b${digits(seq, SEQ_DIGITS)}:`);
}

/** Room message layout: `r` + seq(10) + `:` + padding; message `seq` goes to room `seq % rooms`. */
export function roomMessage(seq: number): string {
  return pad(`r${digits(seq, SEQ_DIGITS)}:`);
}

/** Where the sequence number of a room message starts. */
export const ROOM_SEQ_OFFSET = 1;

/** Flood message layout: `f` + seq(10) + `:` + padding. */
export function floodMessage(seq: number): string {
  return pad(`f${digits(seq, SEQ_DIGITS)}:`);
}

/** The command a client sends on the flood route: "send me `count` messages from `start`". */
export function floodCommand(start: number, count: number): string {
  return `flood:${start}:${count}`;
}

/** Upper bound of one flood command, so a bad client cannot make a server loop forever. */
export const MAX_FLOOD_COUNT = 10_000;

/**
 * Parses a flood command. Returns null for anything else, so the servers can
 * ignore stray messages instead of throwing.
 */
export function parseFloodCommand(message: unknown): { start: number; count: number } | null {
  if (typeof message !== 'string' || !message.startsWith('flood:')) return null;
  const [, start, count] = message.split(':');
  const s = Number(start);
  const c = Number(count);
  if (!Number.isSafeInteger(s) || !Number.isSafeInteger(c) || s < 0 || c < 0 || c > MAX_FLOOD_COUNT) {
    return null;
  }
  return { start: s, count: c };
}

/**
 * What every flood route does, in every server, the same way: one `send` per
 * message, all in the same tick (how an application pushes a burst).
 */
export function sendFlood(message: unknown, send: (text: string) => void): void {
  const command = parseFloodCommand(message);
  if (command === null) return;
  const end = command.start + command.count;
  for (let seq = command.start; seq < end; seq++) send(floodMessage(seq));
}
