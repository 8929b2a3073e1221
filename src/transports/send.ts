/**
 * Shared by the sending HTTP transports (xhr_send, jsonp_send): read the body, decode the
 * messages, deliver them. Answers with the protocol's errors for bad input.
 */
import type { Context } from 'koa';
import { BodyTooLargeError, readBody } from '../http/body.js';
import { respondText } from '../http/text.js';
import { kIncoming } from '../session/manager.js';
import { decodeMessageArray } from '../protocol/json.js';
import { respondNoSession } from '../security/admission.js';
import type { TransportRequest } from './transport.js';

/** Extracts the JSON text from a body (jsonp_send unwraps its form field). */
export type PayloadExtractor = (body: string, ctx: Context) => string;

/**
 * Reads and delivers the messages. Returns true when they were delivered; otherwise the
 * error response (400, 404, 413, 500) has been set on ctx.
 */
export async function deliverMessages(tr: TransportRequest, extract: PayloadExtractor): Promise<boolean> {
  const { ctx, route } = tr;
  let body: string;
  try {
    body = await readBody(ctx.req, route.maxMessageSize);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      route.manager.metrics.refused('size');
      respondText(ctx, 413, `Payload too large: the limit is ${route.maxMessageSize} bytes.`);
      ctx.set('Connection', 'close');
      return false;
    }
    // The client went away mid-body: nobody to answer.
    respondText(ctx, 400, 'Incomplete request body.');
    return false;
  }
  const decoded = decodeMessageArray(extract(body, ctx));
  if (!decoded.ok) {
    respondText(ctx, 500, decoded.error);
    return false;
  }
  // Checked where an unknown session is found out, so a session of another identity gets the
  // very answer an unknown one gets, after the same checks of the body.
  const delivered =
    (await route.gate.forSend(ctx, tr.key, route.manager)) && (await route.manager[kIncoming](tr.key, decoded.messages, Buffer.byteLength(body)));
  if (!delivered) {
    // Unknown, closed, or another identity's: the messages were not taken (docs/transports.md).
    respondNoSession(ctx);
    return false;
  }
  return true;
}
