/** Plain-text answers: the protocol's error messages ("Payload expected.", ...) and jsonp_send's `ok`. */
import type { Context } from 'koa';

export function respondText(ctx: Context, status: number, text: string): void {
  ctx.status = status;
  ctx.type = 'text/plain; charset=UTF-8';
  // A browser must take the text as text, never sniff it as HTML or script.
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = text;
}

/**
 * 503 for a request the session store could not serve. The store's own error goes to `onError`;
 * its text (hosts, keys, connection states) is not the client's business.
 */
export function respondStoreUnavailable(ctx: Context): void {
  respondText(ctx, 503, 'Session store unavailable.');
}
