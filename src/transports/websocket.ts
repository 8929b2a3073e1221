/**
 * websocket: GET `/<server>/<session>/websocket`. SockJS framing over RFC 6455 (hybi-07 and
 * later, through ws), or over the hixie-76 draft (./shared/hixie76.ts). Each connection is its own
 * session, so two connections may share a URL session id (protocol suite: test_reuseSessionId).
 */
import type { Socket } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { decodeWebsocketFrame } from '../protocol/json.js';
import { logger } from '../log.js';
import type { RouteMetrics } from '../metrics/route-metrics.js';
import type { Admission } from '../security/admission.js';
import type { Receiver } from '../session/receiver.js';
import type { Transport, TransportRequest } from './transport.js';
import { Hixie76Connection, Hixie76Receiver, isHixie76 } from './shared/hixie76.js';
import { WebsocketReceiver } from './shared/websocket-receiver.js';
import { checkUpgradeHeaders, isTooLarge, kUpgradeHead, takeSocket, upgrade } from './shared/websocket-upgrade.js';

const log = logger('websocket');

/**
 * Opens the session of a websocket connection. Returns the function that takes each incoming
 * text message, and false when the connection must be dropped (broken JSON).
 */
function openSession(tr: TransportRequest, receiver: Receiver, admission: Admission): (text: string, bytes: number) => boolean {
  const { session, receive } = tr.session.openWebsocket(receiver, tr.request, admission);
  let broken = false;
  return (text, bytes) => {
    // Frames that came in the same chunk as a broken one are parsed after it: drop them too.
    if (broken) return false;
    const messages = decodeWebsocketFrame(text);
    if (messages === undefined) {
      // Protocol: broken JSON ends the connection abruptly.
      log('session %s: broken JSON, terminating', session.id);
      broken = true;
      return false;
    }
    if (messages.length) {
      session.hits++;
      receive(messages, bytes);
    }
    return true;
  };
}

async function serveHixie76(tr: TransportRequest, admission: Admission): Promise<void> {
  const { ctx, route, session } = tr;
  const req = takeSocket(ctx);
  let receiver: Hixie76Receiver | undefined;
  let take: ((text: string, bytes: number) => boolean) | undefined;
  const connection = new Hixie76Connection(req.socket as Socket, route.maxMessageSize, {
    onMessage(text) {
      if (take && !take(text, Buffer.byteLength(text))) connection.terminate();
    },
    onTooLarge() {
      session.metrics.refused('size');
    },
    onClose() {
      receiver?.closed();
    },
  });
  if (!(await connection.accept(req, req[kUpgradeHead] ?? Buffer.alloc(0)))) return;
  // Broken frames right behind the 8 bytes may have dropped it already.
  if (!connection.open) return;
  receiver = new Hixie76Receiver(connection);
  take = openSession(tr, receiver, admission);
  connection.start();
}

export function websocketTransport(wss: WebSocketServer): Transport {
  return {
    path: 'websocket',
    enabledBy: ['websocket'],
    methods: ['GET'],
    preflight: false,
    async handle(tr) {
      const { ctx } = tr;
      if (!checkUpgradeHeaders(ctx)) return;
      // Before the handshake, for both drafts: a refusal is an HTTP answer on the upgrade.
      const admission = await tr.route.gate.forWebsocket(ctx, tr.key, tr.session);
      if (!admission) return;
      if (isHixie76(ctx.req)) return serveHixie76(tr, admission);
      // The 101 answer and the open frame leave in one write: a syscall less per new session,
      // which is much of what a session costs the server (issue 17, connection setup).
      const { socket } = ctx.req;
      socket.cork();
      let ws: WebSocket | undefined;
      let take: (text: string, bytes: number) => boolean;
      try {
        ws = await upgrade(ctx, wss);
        if (!ws) return;
        take = openSession(tr, new WebsocketReceiver('websocket', ws, socket), admission);
      } finally {
        socket.uncork();
      }
      listen(ws, take, tr.session.metrics);
    },
  };
}

/**
 * The websocket's listeners, made here so that their closures hold only what they use: made
 * inside `handle` they would share its scope, and keep the TransportRequest (the Koa context,
 * the request, the unbound response) alive as long as the websocket, 3 KB and more per session.
 */
function listen(ws: WebSocket, take: (text: string, bytes: number) => boolean, metrics: RouteMetrics): void {
  ws.on('message', (data) => {
    // binaryType is 'nodebuffer', so data is one Buffer; SockJS frames are UTF-8 text.
    if (!take((data as Buffer).toString('utf8'), (data as Buffer).length)) ws.terminate();
  });
  ws.on('error', (error) => {
    if (isTooLarge(error)) metrics.refused('size');
    log('websocket error: %O', error);
  });
}
