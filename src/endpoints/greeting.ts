/** The greeting at the route's prefix (with or without a trailing slash). */
import type { Context } from 'koa';

export const GREETING = 'Welcome to SockJS!\n';

export function greeting(ctx: Context): void {
  ctx.type = 'text/plain; charset=UTF-8';
  ctx.body = GREETING;
}
