/**
 * JSON encoding as the SockJS protocol needs it.
 *
 * sockjs-client cannot take some characters raw (the protocol suite's JSONEncoding section,
 * `escapable_by_server`): browsers mangle them on some transports. JSON.stringify already
 * escapes U+0000-U+001F and lone surrogates; we add the zero-width, line/paragraph-separator,
 * invisible-operator and specials ranges, as lowercase `\uXXXX` escapes.
 */
import { MessageEncodingError } from '../errors.js';

const ESCAPABLE = /[\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/g;
const HAS_ESCAPABLE = /[\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/;

function escapeChar(char: string): string {
  return '\\u' + char.charCodeAt(0).toString(16).padStart(4, '0');
}

/** Escapes the characters sockjs-client needs escaped in an already JSON-encoded string. */
export function escapeForClient(json: string): string {
  // Testing first keeps the common (ASCII) case free of a replace() allocation.
  return HAS_ESCAPABLE.test(json) ? json.replace(ESCAPABLE, escapeChar) : json;
}

/**
 * JSON-encodes one outgoing message. Throws MessageEncodingError for values JSON cannot
 * carry (undefined, functions, symbols, BigInt, cycles).
 */
export function encodeMessage(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new MessageEncodingError(error);
  }
  if (json === undefined) throw new MessageEncodingError(new TypeError(`cannot encode ${typeof value}`));
  return escapeForClient(json);
}

/**
 * Characters encodeMessage never leaves raw: control characters (JSON.stringify escapes them in
 * strings and emits none elsewhere; a raw newline would end an xhr frame), the ones
 * escapeForClient escapes, and lone surrogates (JSON.stringify escapes those too).
 */
const NEVER_RAW = /[\u0000-\u001f\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * True when `encoded` could have come from encodeMessage: exactly one JSON value, with nothing
 * raw that sockjs-client or a transport's framing cannot take. Strings that come back from a
 * networked store (Redis, another process) are checked with it before they are spliced into a
 * frame: a corrupt one could otherwise end the frame early or forge another.
 */
export function isEncodedMessage(encoded: string): boolean {
  if (typeof encoded !== 'string' || encoded.length === 0 || NEVER_RAW.test(encoded)) return false;
  try {
    JSON.parse(encoded);
    return true;
  } catch {
    return false;
  }
}

/** Why an incoming payload was refused; the text is what the protocol suite expects. */
export type PayloadError = 'Payload expected.' | 'Broken JSON encoding.';

/** The result of decoding an incoming payload. */
export type DecodedPayload = { ok: true; messages: unknown[] } | { ok: false; error: PayloadError };

/**
 * Decodes an HTTP send body: a JSON array of messages (the xhr_send/jsonp_send format).
 * An empty body is "Payload expected."; bad JSON or a non-array is "Broken JSON encoding.".
 */
export function decodeMessageArray(body: string): DecodedPayload {
  if (body.length === 0) return { ok: false, error: 'Payload expected.' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, error: 'Broken JSON encoding.' };
  }
  if (!Array.isArray(parsed)) return { ok: false, error: 'Broken JSON encoding.' };
  return { ok: true, messages: parsed };
}

/**
 * Decodes a websocket frame: either one JSON value or an array of them. Returns undefined for
 * broken JSON (the protocol says to drop the connection). An empty frame yields no messages:
 * the protocol suite says empty frames are ignored.
 */
export function decodeWebsocketFrame(data: string): unknown[] | undefined {
  if (data.length === 0) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}
