/**
 * xhr_send: POST `/<server>/<session>/xhr_send` with a JSON array of messages; 204 when taken.
 * The sending half of every transport that receives over XHR, EventSource or htmlfile.
 */
import { setCors, setJsessionid, setNoCache } from '../http/headers.js';
import { respondNoContent } from '../http/raw.js';
import { WHOLE_BODY, deliverMessages } from './shared/send.js';
import type { Transport } from './transport.js';

export const xhrSend: Transport = {
  path: 'xhr_send',
  enabledBy: ['xhr-polling', 'xhr-streaming', 'eventsource', 'htmlfile'],
  methods: ['POST'],
  preflight: true,
  async handle(tr) {
    const { ctx, route } = tr;
    setNoCache(ctx);
    if (route.cors) setCors(ctx);
    setJsessionid(ctx, route.jsessionid);
    if (!(await deliverMessages(tr, WHOLE_BODY))) return;
    // The protocol asks for text/plain even on a 204: Firefox otherwise parses it as XML.
    respondNoContent(ctx, 'text/plain; charset=UTF-8');
  },
};
