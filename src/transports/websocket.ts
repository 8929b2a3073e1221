/**
 * websocket: GET `/<server>/<session>/websocket`. SockJS framing over RFC 6455 (hybi-07 and
 * later, through ws), or over the hixie-76 draft (./shared/hixie76.ts). Each connection is its own
 * session, so two connections may share a URL session id (protocol suite: test_reuseSessionId).
 */
import type { Socket } from 'node:net';
import type { WebSocketServer } from 'ws';
import { CloseCode, CloseReason, closeFrame } from '../protocol/frames.js';
import { decodeWebsocketFrame } from '../protocol/json.js';
import { logger } from '../log.js';
import type { RouteMetrics } from '../metrics/route-metrics.js';
import type { Admission } from '../security/admission.js';
import type { WebsocketSession } from '../session/connector.js';
import type { Receiver } from '../session/receiver.js';
import type { Transport, TransportRequest } from './transport.js';
import { Hixie76Connection, Hixie76Receiver, isHixie76 } from './shared/hixie76.js';
import { WebsocketReceiver, type MessageSink } from './shared/websocket-receiver.js';
import { checkUpgradeHeaders, kUpgradeHead, takeSocket, upgrade } from './shared/websocket-upgrade.js';

const log = logger('websocket');

/**
 * The SockJS frames of a websocket session's connection: each text message is a JSON array of
 * messages for the session. One object per connection (no closures: it lives as long as the
 * connection, and memory per idle session is what issue 17 counts).
 */
class SockjsFrames implements MessageSink {
  /** Frames that came in the same chunk as a broken one are parsed after it: dropped too. */
  #broken = false;

  constructor(
    readonly inlet: WebsocketSession,
    readonly metrics: RouteMetrics,
  ) {}

  take(text: string, bytes: number): boolean {
    if (this.#broken) return false;
    const messages = decodeWebsocketFrame(text);
    if (messages === undefined) {
      // Protocol: broken JSON ends the connection abruptly.
      log('session %s: broken JSON, terminating', this.inlet.session.id);
      this.#broken = true;
      return false;
    }
    if (messages.length) {
      this.inlet.session.hits++;
      this.inlet.receive(messages, bytes);
    }
    return true;
  }

  tooLarge(): void {
    this.metrics.refused('size');
  }
}

/** Opens the session of a websocket connection; returns where its frames go. */
function openSession(tr: TransportRequest, receiver: Receiver, admission: Admission): SockjsFrames {
  return new SockjsFrames(tr.session.openWebsocket(receiver, tr.request, admission), tr.session.metrics);
}

async function serveHixie76(tr: TransportRequest, admission: Admission): Promise<void> {
  const { ctx, route, session } = tr;
  const req = takeSocket(ctx);
  let receiver: Hixie76Receiver | undefined;
  let frames: SockjsFrames | undefined;
  const connection = new Hixie76Connection(
    req.socket as Socket,
    route.maxMessageSize,
    {
      onMessage(text) {
        if (frames && !frames.take(text, Buffer.byteLength(text))) connection.terminate();
      },
      onTooLarge() {
        session.metrics.refused('size');
      },
      onClose() {
        receiver?.closed();
      },
    },
    route.websocketCloseTimeout,
  );
  if (!(await connection.accept(req, req[kUpgradeHead] ?? Buffer.alloc(0)))) return;
  // Broken frames right behind the 8 bytes may have dropped it already.
  if (!connection.open) return;
  receiver = new Hixie76Receiver(connection);
  // The route began to shut down while the client took its time with the 8 bytes of the key:
  // the 101 is out, so no 503; no session either (it would miss the shutdown), but the close
  // frame every session gets at the shutdown.
  if (session.draining) {
    session.metrics.refused('draining');
    receiver.end(closeFrame(CloseCode.GOING_AWAY, CloseReason.GOING_AWAY));
    return;
  }
  frames = openSession(tr, receiver, admission);
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
      try {
        const ws = await upgrade(ctx, wss);
        if (typeof ws === 'boolean') return;
        const receiver = new WebsocketReceiver('websocket', ws, socket);
        receiver.sink = openSession(tr, receiver, admission);
      } finally {
        socket.uncork();
      }
    },
  };
}

