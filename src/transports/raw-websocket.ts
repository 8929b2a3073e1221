/**
 * Raw websocket: GET `<prefix>/websocket`. For programs that are not sockjs-client: every
 * websocket message is one message, with no SockJS framing, no open frame and no heartbeats
 * (protocol suite: RawWebsocket). A Session sees it like any other transport.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { pickSafeHeaders } from '../session/request-info.js';
import type { RouteMetrics } from '../metrics/route-metrics.js';
import type { WebsocketSession } from '../session/connector.js';
import { WebsocketReceiver, type MessageSink } from './shared/websocket-receiver.js';
import { checkUpgradeHeaders, upgrade } from './shared/websocket-upgrade.js';
import type { RouteRequest, RouteTransport } from './transport.js';

/** Close codes an endpoint may send (RFC 6455, 7.4); anything else closes with 1000. */
function isSendableCloseCode(code: unknown): code is number {
  return typeof code === 'number' && ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
}

/**
 * Turns the session's SockJS frames back into plain messages: `a[...]` becomes one websocket
 * message per element (a string as its text, any other value as its JSON), `c[code,"reason"]`
 * becomes the websocket close, `o` and `h` are dropped.
 */
export class RawWebsocketReceiver extends WebsocketReceiver {
  constructor(ws: WebSocket, socket?: Duplex) {
    super('websocket-raw', ws, socket);
  }

  override send(frame: string | Buffer): boolean {
    if (!this.writable) return false;
    const text = typeof frame === 'string' ? frame : frame.toString('utf8');
    if (text.charCodeAt(0) !== 97 /* a */) return true;
    // Our own frame, so it parses; the JSON escapes sockjs-client needs decode back to the text.
    for (const message of JSON.parse(text.slice(1)) as unknown[]) {
      this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
    }
    return true;
  }

  override end(frame?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.stopPinging();
    let code = 1000;
    let reason = '';
    if (frame !== undefined && frame.charCodeAt(0) === 99 /* c */) {
      const [frameCode, frameReason] = JSON.parse(frame.slice(1)) as [unknown, unknown];
      if (isSendableCloseCode(frameCode)) code = frameCode;
      // A close reason is at most 123 bytes (RFC 6455, 5.5).
      if (typeof frameReason === 'string' && Buffer.byteLength(frameReason) <= 123) reason = frameReason;
    }
    this.ws.close(code, reason);
  }
}

/** `<prefix>/websocket`, GET only, on when websockets are. */
export function rawWebsocket(wss: WebSocketServer): RouteTransport {
  return {
    path: 'websocket',
    enabledBy: ['websocket'],
    methods: ['GET'],
    preflight: false,
    handle: (tr) => serveRawWebsocket(tr, wss),
  };
}

async function serveRawWebsocket({ ctx, route, session: connector }: RouteRequest, wss: WebSocketServer): Promise<void> {
  if (!checkUpgradeHeaders(ctx)) return;
  const admission = await route.gate.forWebsocket(ctx, undefined, connector);
  if (!admission) return;
  const request = { remoteAddress: ctx.ip, headers: pickSafeHeaders(ctx.headers), url: ctx.url };
  const ws = await upgrade(ctx, wss);
  if (typeof ws === 'boolean') return;
  const receiver = new RawWebsocketReceiver(ws, ctx.req.socket);
  receiver.sink = new PlainMessages(connector.openWebsocket(receiver, request, admission), connector.metrics);
}

/** Every websocket message (binary ones taken as UTF-8 text too) is one message for the session. */
class PlainMessages implements MessageSink {
  constructor(
    readonly inlet: WebsocketSession,
    readonly metrics: RouteMetrics,
  ) {}

  take(text: string, bytes: number): boolean {
    this.inlet.session.hits++;
    this.inlet.receive([text], bytes);
    return true;
  }

  tooLarge(): void {
    this.metrics.refused('size');
  }
}
