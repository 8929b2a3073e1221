/**
 * jsonp_send: POST `/<server>/<session>/jsonp_send`. The client posts a form whose `d` field is
 * the JSON array of messages (a hidden-iframe form post); a body that is not form-encoded is
 * taken as the JSON itself. Answers 200 `ok`: Konqueror mishandled a 204.
 */
import type { Context } from 'koa';
import { setJsessionid, setNoCache } from '../http/headers.js';
import { respondText } from '../http/text.js';
import { deliverMessages, type PayloadFormat } from './shared/send.js';
import type { Transport } from './transport.js';

/** The `d` field of a form post; the raw body otherwise (protocol suite: JsonPolling.test_content_types). */
export function jsonpPayload(body: string, ctx: Context): string {
  if (!ctx.request.is('application/x-www-form-urlencoded')) return body;
  // A missing or empty `d` is "Payload expected." (protocol suite: JsonPolling.test_invalid_json).
  return new URLSearchParams(body).get('d') ?? '';
}

const JSONP_PAYLOAD: PayloadFormat = { extract: jsonpPayload, formField: 'd' };

export const jsonpSend: Transport = {
  path: 'jsonp_send',
  enabledBy: ['jsonp-polling'],
  methods: ['POST'],
  preflight: false,
  pageElement: true,
  async handle(tr) {
    const { ctx, route } = tr;
    setNoCache(ctx);
    setJsessionid(ctx, route.jsessionid);
    if (!(await deliverMessages(tr, JSONP_PAYLOAD))) return;
    respondText(ctx, 200, 'ok');
  },
};
