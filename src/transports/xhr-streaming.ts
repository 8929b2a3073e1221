/**
 * xhr-streaming: POST `/<server>/<session>/xhr_streaming`. A 2 KiB prelude, then one frame per
 * line on a response that stays open until it carried `responseLimit` bytes.
 */
import { setCors, setJsessionid, setNoCache } from '../http/headers.js';
import { XHR_STREAMING_PRELUDE, xhrFrame } from './framing.js';
import { connectReceiver } from './receive.js';
import type { Transport } from './transport.js';

export const xhrStreaming: Transport = {
  path: 'xhr_streaming',
  enabledBy: ['xhr-streaming'],
  methods: ['POST'],
  preflight: true,
  async handle(tr) {
    const { ctx, route } = tr;
    ctx.set('Content-Type', 'application/javascript; charset=UTF-8');
    setNoCache(ctx);
    if (route.cors) setCors(ctx);
    setJsessionid(ctx, route.jsessionid);
    await connectReceiver(tr, { transport: 'xhr-streaming', streaming: true, responseLimit: route.responseLimit, format: xhrFrame }, XHR_STREAMING_PRELUDE);
  },
};
