/**
 * jsonp-polling: GET `/<server>/<session>/jsonp?c=<callback>`, one frame per response as a call
 * of the client's callback. Sending goes through jsonp_send.
 */
import { setJsessionid, setNoCache } from '../http/headers.js';
import { readCallback } from './shared/callback.js';
import { jsonpFrame } from './shared/framing.js';
import { connectReceiver } from './shared/receive.js';
import type { Transport } from './transport.js';

export const jsonpPolling: Transport = {
  path: 'jsonp',
  enabledBy: ['jsonp-polling'],
  methods: ['GET'],
  preflight: false,
  pageElement: true,
  async handle(tr) {
    const { ctx, route } = tr;
    setNoCache(ctx);
    const callback = readCallback(ctx);
    if (callback === undefined) return;
    ctx.set('Content-Type', 'application/javascript; charset=UTF-8');
    // The body is script for a <script> tag; never let it be sniffed as anything else.
    ctx.set('X-Content-Type-Options', 'nosniff');
    // A page of another origin loads it with <script>, a no-cors request: with helmet's default
    // `Cross-Origin-Resource-Policy: same-origin` in front, Chromium would refuse the script.
    ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
    setJsessionid(ctx, route.jsessionid);
    await connectReceiver(tr, { transport: 'jsonp-polling', streaming: false, responseLimit: 0, format: (frame) => jsonpFrame(callback, frame) });
  },
};
