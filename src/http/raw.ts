/**
 * Answers Koa would otherwise shape differently: the protocol asks for text/plain on xhr_send's
 * 204 and for a bare 405. Both are still written by Koa, after the whole middleware chain, so
 * headers that middleware above sets after `await next()` (a session cookie, a timing header)
 * go out with them.
 */
import type { Context } from 'koa';
import type { ServerResponse } from 'node:http';
import { keepAliveWithoutBody } from './headers.js';

/**
 * 204 with a Content-Type. Koa strips Content-Type from every 204 as it writes it, so the type
 * is put back as the head goes out, the one moment after Koa and every middleware are done with
 * the headers (the technique of jshttp's on-headers, used by response-time and compression).
 */
export function respondNoContent(ctx: Context, contentType: string): void {
  ctx.status = 204;
  keepAliveWithoutBody(ctx);
  const res = ctx.res;
  const writeHead = res.writeHead;
  res.writeHead = function writeHeadWithType(this: ServerResponse, ...args: unknown[]) {
    res.writeHead = writeHead;
    if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', contentType);
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;
}

/** 405 with an Allow header, no Content-Type and no body (protocol: verify405). */
export function respondMethodNotAllowed(ctx: Context, allowed: readonly string[]): void {
  ctx.set('Allow', allowed.join(', '));
  // An explicit null body: Koa then sends no body and no Content-Type (instead of "Method Not
  // Allowed" as text). Set before the status, which the null body would otherwise turn into 204.
  ctx.body = null;
  ctx.status = 405;
}
