/**
 * Shared by the receiving HTTP transports (xhr, xhr_streaming, eventsource, htmlfile, jsonp):
 * hand the response to the session layer as a Receiver.
 */
import type { Context } from 'koa';
import { setCors, setJsessionid, setNoBuffering, setNoCache } from '../../http/headers.js';
import { HttpReceiver, type HttpReceiverOptions } from './http-receiver.js';
import type { TransportRequest, TransportRoute } from '../transport.js';

/** Headers of the xhr receiving responses (xhr, xhr_streaming): script, uncached, CORS, cookie. */
export function setXhrReceiverHeaders(ctx: Context, route: TransportRoute): void {
    ctx.set('Content-Type', 'application/javascript; charset=UTF-8');
    setNoCache(ctx);
    if (route.cors) setCors(ctx);
    setJsessionid(ctx, route.jsessionid);
}

export async function connectReceiver(tr: TransportRequest, options: HttpReceiverOptions, prelude = ''): Promise<void> {
  const { ctx, route, session } = tr;
  // Before the response is taken over: a refusal (401, 403, 404, 429) is a plain HTTP answer.
  const admission = await route.gate.forReceiver(ctx, tr.key, session);
  if (!admission) return;
  if (options.streaming) setNoBuffering(ctx);
  const receiver = new HttpReceiver(ctx, options);
  if (options.streaming) receiver.begin(prelude);
  await session.connect(tr.key, receiver, tr.request, admission);
  if (options.streaming) return;
  const answered = receiver.answered();
  if (answered === undefined) return;
  // A long poll: admission is over (the room held under limits.maxSessions is free), and the
  // route returns once the poll has its answer.
  route.gate.settle(ctx);
  await answered;
}
