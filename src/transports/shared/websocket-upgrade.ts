/**
 * Taking a websocket upgrade from inside Koa. When nobody listens for the HTTP server's
 * 'upgrade' event, Node hands upgrade requests to the request handler, so Koa sees them like
 * any request; `ws` in noServer mode completes the handshake on the request's socket.
 */
import type { Context } from 'koa';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { DEFAULTS } from '../../defaults.js';
import { quietClientErrors, unquietClientErrors } from '../../http/client-gone.js';
import { logger } from '../../log.js';
import { wsDeflateOptions, type DeflateSettings } from './deflate.js';
import { stopHttpParsing } from '../../http/stop-http-parsing.js';

const log = logger('upgrade');

const NO_HEAD = Buffer.alloc(0);
/** Set on a request that arrived through the server's 'upgrade' event (see upgradeHandler). */
export const kUpgradeHead = Symbol('koa-sockjs.upgradeHead');
/** Set once a websocket implementation owns the request's socket: no HTTP answer will follow. */
export const kSocketTaken = Symbol('koa-sockjs.socketTaken');

/**
 * The socket's error listener while a request taken from the 'upgrade' event is handled
 * (upgradeHandler): Node takes its own off a socket it hands to 'upgrade' listeners.
 */
export function onUpgradeSocketError(error: Error): void {
  log('upgrade request socket: %s', error.message);
}

export interface UpgradableRequest extends IncomingMessage {
  [kUpgradeHead]?: Buffer | undefined;
  [kSocketTaken]?: boolean | undefined;
}

/** Hands the request's socket to a websocket implementation: Koa must not answer. */
export function takeSocket(ctx: Context): UpgradableRequest {
  const req = ctx.req as UpgradableRequest;
  ctx.respond = false;
  req[kSocketTaken] = true;
  // `respond = false` stops Koa's respond(), not its error handler: when middleware above throws
  // after `await next()`, ctx.onerror writes a 500 unless ctx.writable is false, and on the
  // request path this response is still bound to the socket the websocket now owns, so
  // `HTTP/1.1 500` would land inside the websocket stream (a client fails with "RSV1 must be
  // clear"). Marked ended, the error still reaches app.on('error') and nothing is written.
  // Only the instance's view changes: `finished` stays false, so server.close() still leaves a
  // request-path websocket alone (closeIdleConnections skips unfinished responses).
  Object.defineProperty(ctx.res, 'writableEnded', { value: true, configurable: true });
  // The socket now lives as long as the websocket; its client may drop it any time.
  quietClientErrors(req.socket);
  // Taken on the request path, its bytes would still go to Node's HTTP parser, and the server
  // would time the websocket out as a stalled request.
  if (req[kUpgradeHead] === undefined) stopHttpParsing(req.socket);
  return req;
}

/** Checks the handshake headers; answers 400 as the protocol suite expects and returns false. */
export function checkUpgradeHeaders(ctx: Context): boolean {
  if (ctx.get('Upgrade').toLowerCase() !== 'websocket') {
    ctx.status = 400;
    ctx.body = 'Can "Upgrade" only to "WebSocket".';
    return false;
  }
  const connection = ctx.get('Connection').toLowerCase().split(',').map((token) => token.trim());
  // Firefox 6 sends "keep-alive, Upgrade": any token list containing upgrade is fine.
  if (!connection.includes('upgrade')) {
    ctx.status = 400;
    ctx.body = '"Connection" must be "Upgrade".';
    return false;
  }
  return true;
}

/** ws's error for a message over maxPayload (it closes the connection with 1009 by itself). */
export function isTooLarge(error: Error): boolean {
  return (error as Error & { code?: unknown }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
}

/**
 * The route's ws server (handshakes only: `noServer`, no client tracking). `closeTimeout`: how
 * long a websocket the server closes waits for the client's close frame before ws destroys the
 * connection (the `websocketCloseTimeout` option; ws 8.19+, whose own default is 30 s).
 */
export function createWebsocketServer(maxMessageSize: number, deflate: DeflateSettings = false, closeTimeout: number = DEFAULTS.websocketCloseTimeout): WebSocketServer {
  // closeTimeout came in ws 8.19.0 (the version package.json asks for); @types/ws 8.18 lacks it.
  const options: ServerOptions & { closeTimeout: number } = { noServer: true, maxPayload: maxMessageSize, perMessageDeflate: wsDeflateOptions(deflate), clientTracking: false, closeTimeout };
  return new WebSocketServer(options);
}

/**
 * Completes the handshake; resolves with the open socket, or with a boolean (the socket's
 * `hadError`) when the connection closed first: ws answered an HTTP error and closed it, or the
 * client went away.
 */
export function upgrade(ctx: Context, wss: WebSocketServer): Promise<WebSocket | boolean> {
  const req = takeSocket(ctx);
  // hybi-07 is the same wire protocol as hybi-08; ws only knows 8 and 13 by number.
  if (req.headers['sec-websocket-version'] === '7') req.headers['sec-websocket-version'] = '8';
  const socket: Duplex = req.socket;
  return new Promise((resolve) => {
    // `resolve` itself listens for the close: no closure more per connection.
    socket.once('close', resolve);
    wss.handleUpgrade(req, socket, req[kUpgradeHead] ?? NO_HEAD, (ws) => {
      socket.off('close', resolve);
      // From the 'upgrade' event, ws's own error listener is now the socket's only needed one:
      // no HTTP response will be bound to it (Koa never listens on it), and the handshake's is
      // over. Each kept would be one listener more, and a listener array, per open websocket.
      if (req[kUpgradeHead] !== undefined) {
        socket.off('error', onUpgradeSocketError);
        unquietClientErrors(req.socket);
      }
      resolve(ws);
    });
  });
}
