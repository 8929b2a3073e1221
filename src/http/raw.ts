/**
 * Responses Koa would rewrite: Koa drops Content-Type on a 204 and invents a body for an empty
 * 405, but the protocol asks for text/plain on xhr_send's 204 and a bare 405. We answer those
 * ourselves (ctx.respond = false), keeping the headers already set through ctx.set().
 */
import type { Context } from 'koa';

export function respondRaw(ctx: Context, status: number, body?: string): void {
  ctx.respond = false;
  const res = ctx.res;
  res.statusCode = status;
  if (body === undefined || body.length === 0) {
    if (status !== 204 && status !== 304) res.setHeader('Content-Length', '0');
    res.end();
    return;
  }
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** 405 with an Allow header, no Content-Type and no body (protocol: verify405). */
export function respondMethodNotAllowed(ctx: Context, allowed: readonly string[]): void {
  ctx.res.removeHeader('Content-Type');
  ctx.set('Allow', allowed.join(', '));
  respondRaw(ctx, 405);
}
