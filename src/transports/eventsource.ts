/**
 * eventsource: GET `/<server>/<session>/eventsource`. Server-sent events, one `data:` event per
 * frame, until the response carried `responseLimit` bytes (browsers leak memory on endless
 * streams). Sending goes through xhr_send.
 */
import { setCors, setJsessionid, setNoCache } from '../http/headers.js';
import { EVENTSOURCE_PRELUDE, eventsourceFrame } from './shared/framing.js';
import { connectReceiver } from './shared/receive.js';
import type { Transport } from './transport.js';

export const eventsource: Transport = {
  path: 'eventsource',
  enabledBy: ['eventsource'],
  methods: ['GET'],
  preflight: false,
  async handle(tr) {
    const { ctx, route } = tr;
    // Exactly this type (sockjs-protocol HEAD, EventSource.test_transport): an event stream is
    // always UTF-8 by definition (WHATWG HTML, 9.2.5), so a charset parameter says nothing.
    ctx.set('Content-Type', 'text/event-stream');
    // Fetched with GET: no cache may keep it (protocol suite: verify_not_cached).
    setNoCache(ctx);
    // sockjs-client 1.x opens EventSource across origins directly, which browsers allow only
    // with CORS headers (the protocol suite does not ask for them, Chromium does).
    if (route.cors) setCors(ctx);
    setJsessionid(ctx, route.jsessionid);
    await connectReceiver(tr, { transport: 'eventsource', streaming: true, responseLimit: route.responseLimit, format: eventsourceFrame }, EVENTSOURCE_PRELUDE);
  },
};
