/** Plain-text answers: the protocol's error messages ("Payload expected.", ...) and jsonp_send's `ok`. */
import type { Context } from 'koa';

export function respondText(ctx: Context, status: number, text: string): void {
  ctx.status = status;
  ctx.type = 'text/plain; charset=UTF-8';
  // A browser must take the text as text, never sniff it as HTML or script.
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = text;
}
