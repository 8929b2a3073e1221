/**
 * xhr-streaming: POST `/<server>/<session>/xhr_streaming`. A 2 KiB prelude, then one frame per
 * line on a response that stays open until it carried `responseLimit` bytes.
 */
import { XHR_STREAMING_PRELUDE, xhrFrame } from './shared/framing.js';
import { connectReceiver, setXhrReceiverHeaders } from './shared/receive.js';
import type { Transport } from './transport.js';

export const xhrStreaming: Transport = {
  path: 'xhr_streaming',
  enabledBy: ['xhr-streaming'],
  methods: ['POST'],
  preflight: true,
  async handle(tr) {
    const { ctx, route } = tr;
    setXhrReceiverHeaders(ctx, route);
    await connectReceiver(tr, { transport: 'xhr-streaming', streaming: true, responseLimit: route.responseLimit, format: xhrFrame }, XHR_STREAMING_PRELUDE);
  },
};
