/** `/info`: what the client needs before it picks a transport, and an entropy source. */
import { randomInt } from 'node:crypto';
import type { Context } from 'koa';
import { answerPreflight, setCors, setNoCache } from '../http/headers.js';
import type { ResolvedRoute } from '../options.js';

/** The body of `/info` (protocol suite, InfoTest). */
export interface InfoBody {
  websocket: boolean;
  cookie_needed: boolean;
  origins: string[];
  entropy: number;
}

export function info(ctx: Context, route: ResolvedRoute): void {
  if (ctx.method === 'OPTIONS') {
    answerPreflight(ctx, ['GET'], route.cors);
    return;
  }
  setNoCache(ctx);
  if (route.cors) setCors(ctx);
  const body: InfoBody = {
    websocket: route.websocket,
    cookie_needed: route.jsessionid !== false,
    // What the `origins` option allows, in the field's host:port form.
    origins: route.origins.infoOrigins(ctx),
    // Browsers lack a good entropy source; the protocol asks for a 32-bit random number.
    entropy: randomInt(0, 2 ** 32 - 1),
  };
  ctx.type = 'application/json; charset=UTF-8';
  ctx.body = JSON.stringify(body);
}
