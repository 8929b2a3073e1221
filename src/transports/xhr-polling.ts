/** xhr-polling: POST `/<server>/<session>/xhr`, one frame per response, newline-terminated. */
import { setCors, setJsessionid, setNoCache } from '../http/headers.js';
import { xhrFrame } from './framing.js';
import { connectReceiver } from './receive.js';
import type { Transport } from './transport.js';

export const xhrPolling: Transport = {
  path: 'xhr',
  enabledBy: ['xhr-polling'],
  methods: ['POST'],
  preflight: true,
  async handle(tr) {
    const { ctx, route } = tr;
    ctx.set('Content-Type', 'application/javascript; charset=UTF-8');
    setNoCache(ctx);
    if (route.cors) setCors(ctx);
    setJsessionid(ctx, route.jsessionid);
    await connectReceiver(tr, { transport: 'xhr-polling', streaming: false, responseLimit: 0, format: xhrFrame });
  },
};
