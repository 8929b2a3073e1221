/** xhr-polling: POST `/<server>/<session>/xhr`, one frame per response, newline-terminated. */
import { xhrFrame } from './shared/framing.js';
import { connectReceiver, setXhrReceiverHeaders } from './shared/receive.js';
import type { Transport } from './transport.js';

export const xhrPolling: Transport = {
  path: 'xhr',
  enabledBy: ['xhr-polling'],
  methods: ['POST'],
  preflight: true,
  async handle(tr) {
    const { ctx, route } = tr;
    setXhrReceiverHeaders(ctx, route);
    await connectReceiver(tr, { transport: 'xhr-polling', streaming: false, responseLimit: 0, format: xhrFrame });
  },
};
