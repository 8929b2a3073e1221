/**
 * htmlfile: GET `/<server>/<session>/htmlfile?c=<callback>`. A streamed HTML document for old
 * IE's ActiveX htmlfile trick: the prelude defines `p()`, every frame is a script calling it.
 * Sending goes through xhr_send.
 */
import { setJsessionid, setNoCache } from '../http/headers.js';
import { readCallback } from './shared/callback.js';
import { htmlfileFrame, htmlfilePrelude } from './shared/framing.js';
import { connectReceiver } from './shared/receive.js';
import type { Transport } from './transport.js';

export const htmlfile: Transport = {
  path: 'htmlfile',
  enabledBy: ['htmlfile'],
  methods: ['GET'],
  preflight: false,
  pageElement: true,
  async handle(tr) {
    const { ctx, route } = tr;
    setNoCache(ctx);
    const callback = readCallback(ctx);
    if (callback === undefined) return;
    ctx.set('Content-Type', 'text/html; charset=UTF-8');
    // A document framed inside the iframe page, whose every frame is an inline script: a policy
    // set in front (koa-helmet's `script-src 'self'`) would block all of them, and the transport
    // would open and then hear nothing. It takes the iframe page's own policy instead: framed by
    // the pages `origins` allows (frame-ancestors names every ancestor, the top page included).
    ctx.set('Content-Security-Policy', route.origins.frameAncestors);
    setJsessionid(ctx, route.jsessionid);
    await connectReceiver(tr, { transport: 'htmlfile', streaming: true, responseLimit: route.responseLimit, format: htmlfileFrame }, htmlfilePrelude(callback));
  },
};
