/**
 * websocket: GET `/<server>/<session>/websocket`. SockJS framing over RFC 6455. Each connection
 * is its own session, so two connections may share a URL session id (protocol suite:
 * test_reuseSessionId).
 */
import type { WebSocketServer } from 'ws';
import { kOpenWebsocket } from '../session/manager.js';
import { decodeWebsocketFrame } from '../protocol/json.js';
import { logger } from '../log.js';
import type { Transport } from './transport.js';
import { WebsocketReceiver } from './websocket-receiver.js';
import { checkUpgradeHeaders, upgrade } from './websocket-upgrade.js';

const log = logger('websocket');

export function websocketTransport(wss: WebSocketServer): Transport {
  return {
    path: 'websocket',
    enabledBy: ['websocket'],
    methods: ['GET'],
    preflight: false,
    async handle(tr) {
      const { ctx, route } = tr;
      if (!checkUpgradeHeaders(ctx)) return;
      const ws = await upgrade(ctx, wss);
      if (!ws) return;
      const receiver = new WebsocketReceiver('websocket', ws);
      const { session, receive } = route.manager[kOpenWebsocket](receiver, tr.request);
      ws.on('message', (data) => {
        // binaryType is 'nodebuffer', so data is one Buffer; SockJS frames are UTF-8 text.
        const text = (data as Buffer).toString('utf8');
        const messages = decodeWebsocketFrame(text);
        if (messages === undefined) {
          // Protocol: broken JSON ends the connection abruptly.
          log('session %s: broken JSON, terminating', session.id);
          ws.terminate();
          return;
        }
        if (messages.length) {
          session.hits++;
          receive(messages);
        }
      });
      ws.on('error', (error) => log('session %s: %O', session.id, error));
    },
  };
}
