/**
 * The `c` (or `callback`) query parameter of jsonp and htmlfile: the name of the client function
 * the server's script calls. It is written into JavaScript and HTML, so only dotted identifiers
 * get through; anything else is refused before a byte of the response is written.
 */
import type { Context } from 'koa';
import { respondText } from '../../http/text.js';

/** Letters, digits, `_` and `.`: what sockjs-client generates (`_jp.a1b2c3d`), and nothing that can escape. */
const CALLBACK_NAME = /^[A-Za-z0-9_.]+$/;
/** Generous for generated names, small enough that the name cannot carry a payload. */
export const MAX_CALLBACK_LENGTH = 64;

/** Why a callback name was refused; undefined when it is fine. */
export function checkCallbackName(name: string): string | undefined {
  if (name.length > MAX_CALLBACK_LENGTH) return `invalid "callback" parameter: longer than ${MAX_CALLBACK_LENGTH} characters`;
  if (!CALLBACK_NAME.test(name)) return 'invalid "callback" parameter: only letters, digits, "_" and "." are allowed';
  return undefined;
}

/**
 * The callback name, or undefined after answering 500 (protocol suite: test_no_callback wants
 * `"callback" parameter required`). The refused name is never echoed back.
 */
export function readCallback(ctx: Context): string | undefined {
  const value = ctx.query['c'] ?? ctx.query['callback'];
  if (value === undefined || value === '') {
    respondText(ctx, 500, '"callback" parameter required');
    return undefined;
  }
  const refused = typeof value === 'string' ? checkCallbackName(value) : 'invalid "callback" parameter: given more than once';
  if (refused !== undefined) {
    respondText(ctx, 500, refused);
    return undefined;
  }
  return value as string;
}
