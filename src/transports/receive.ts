/**
 * Shared by the receiving HTTP transports (xhr, xhr_streaming, eventsource, htmlfile, jsonp):
 * hand the response to the session layer as a Receiver.
 */
import { kConnect } from '../session/manager.js';
import { HttpReceiver, type HttpReceiverOptions } from './http-receiver.js';
import type { TransportRequest } from './transport.js';

export async function connectReceiver(tr: TransportRequest, options: HttpReceiverOptions, prelude = ''): Promise<void> {
  const receiver = new HttpReceiver(tr.ctx, options);
  if (options.streaming) receiver.begin(prelude);
  await tr.route.manager[kConnect](tr.key, receiver, tr.request);
}
