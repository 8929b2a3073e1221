/**
 * Shared by the sending HTTP transports (xhr_send, jsonp_send): read the body, decode the
 * messages, deliver them. Answers with the protocol's errors for bad input.
 */
import type { Context } from 'koa';
import { BodyTooLargeError, bodyWasRead, readBody } from '../../http/body.js';
import { BodyConsumedError, recoverParsedBody } from '../../http/parsed-body.js';
import { respondStoreUnavailable, respondText } from '../../http/text.js';
import { decodeMessageArray } from '../../protocol/json.js';
import { respondNoSession } from '../../security/admission.js';
import type { TransportRequest } from '../transport.js';

/** How a transport finds its JSON text in a body; jsonp_send's is the `d` field of a form post. */
export interface PayloadFormat {
  /** Extracts the JSON text from the whole body. */
  readonly extract: (body: string, ctx: Context) => string;
  /** The form field that carries the JSON text, when a parser has already parsed the form. */
  readonly formField?: string | undefined;
}

export const WHOLE_BODY: PayloadFormat = { extract: (body) => body };

/**
 * The JSON text of the request; undefined after answering an error. A body parser in front may
 * have read the body already: then what it left is used (see parsed-body.ts), and the request
 * is answered at once either way, never left waiting for stream events that already fired.
 */
async function readPayload(tr: TransportRequest, format: PayloadFormat): Promise<{ text: string; bytes: number } | undefined> {
  const { ctx, route } = tr;
  if (bodyWasRead(ctx.req)) {
    let recovered;
    try {
      recovered = recoverParsedBody(ctx, format.formField);
    } catch (error) {
      if (!(error instanceof BodyConsumedError)) throw error;
      // The application's mistake, not the client's: the message says what to change.
      tr.session.reportError(error, 'reading a send request');
      respondText(ctx, 500, error.message);
      return undefined;
    }
    const body = 'field' in recovered ? recovered.field : recovered.body;
    const bytes = Buffer.byteLength(body);
    if (bytes > route.maxMessageSize) return tooLarge(tr);
    return { text: 'field' in recovered ? body : format.extract(body, ctx), bytes };
  }
  try {
    const body = await readBody(ctx.req, route.maxMessageSize);
    return { text: format.extract(body, ctx), bytes: Buffer.byteLength(body) };
  } catch (error) {
    if (error instanceof BodyTooLargeError) return tooLarge(tr);
    // The client went away mid-body: nobody to answer.
    respondText(ctx, 400, 'Incomplete request body.');
    return undefined;
  }
}

function tooLarge({ ctx, route, session }: TransportRequest): undefined {
  session.metrics.refused('size');
  respondText(ctx, 413, `Payload too large: the limit is ${route.maxMessageSize} bytes.`);
  ctx.set('Connection', 'close');
  return undefined;
}

/**
 * Reads and delivers the messages. Returns true when they were delivered; otherwise the
 * error response (400, 404, 413, 500, 503) has been set on ctx.
 */
export async function deliverMessages(tr: TransportRequest, format: PayloadFormat): Promise<boolean> {
  const { ctx, route, session } = tr;
  const payload = await readPayload(tr, format);
  if (payload === undefined) return false;
  const decoded = decodeMessageArray(payload.text);
  if (!decoded.ok) {
    respondText(ctx, 500, decoded.error);
    return false;
  }
  // Checked where an unknown session is found out, so a session of another identity gets the
  // very answer an unknown one gets, after the same checks of the body.
  const admitted = await route.gate.forSend(ctx, tr.key, session);
  // Answered already: 503, the store failed the gate's lookup.
  if (admitted === undefined) return false;
  let delivered = admitted;
  try {
    if (delivered) delivered = await session.incoming(tr.key, decoded.messages, payload.bytes);
  } catch (error) {
    // The store failed (say, Redis is unreachable). Its message is for the operator (onError),
    // never for the client: it can name hosts, keys and connection states.
    session.reportError(error, 'store for incoming messages');
    respondStoreUnavailable(ctx);
    return false;
  }
  if (!delivered) {
    // Unknown, closed, or another identity's: the messages were not taken (docs/transports.md).
    respondNoSession(ctx);
    return false;
  }
  return true;
}
