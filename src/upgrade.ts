/**
 * Websocket upgrades through the HTTP server's 'upgrade' event.
 *
 * When nobody listens for 'upgrade', Node hands upgrade requests to the request handler, so
 * SockJS websockets work with no attach step. But such a request never finishes: its HTTP
 * parser, response, Koa context and Koa's on-finished listeners live as long as the websocket.
 * So on its first request koa-sockjs listens for 'upgrade' itself (`adoptUpgrades`), where Node
 * frees the parser, and runs the Koa app with a response that is bound to the socket only if
 * the app answers over HTTP. It steps aside when the application listens for 'upgrade' too.
 *
 * An application that listens for 'upgrade' itself hands SockJS upgrades over with
 * `upgradeHandler(app)`:
 *
 *   server.on('upgrade', (req, socket, head) => {
 *     if (req.url?.startsWith('/chat/')) sockjsUpgrade(req, socket, head);
 *     else otherWss.handleUpgrade(...);
 *   });
 */
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import { logger } from './log.js';
import { redactForLog } from './session/request-info.js';
import { kSocketTaken, kUpgradeHead, onUpgradeSocketError, type UpgradableRequest } from './transports/shared/websocket-upgrade.js';

const log = logger('upgrade');


/** A listener for an `http.Server`'s `'upgrade'` event. */
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Hands websocket upgrade requests to a Koa app, for servers that listen for `'upgrade'`
 * themselves (another websocket library next to SockJS). Without such a listener none of this
 * is needed: koa-sockjs takes upgrades by itself.
 *
 * The request runs through the app's whole middleware stack; a SockJS websocket route
 * completes the handshake, and any other answer (400, 404, ...) is written as an HTTP
 * response, after which the connection is closed. Errors go to the app's error path.
 *
 * @param app - The Koa application with the `sockjs()` routes.
 * @returns `(req, socket, head) => void`, to call from your `'upgrade'` listener for the
 *   requests that are SockJS's (those under a route's prefix).
 */
export function upgradeHandler(app: Koa): UpgradeListener {
  const handle = app.callback();
  return function sockjsUpgrade(req, socket, head) {
    // Node takes its own error listener off a socket it hands to 'upgrade' listeners: without
    // one, a client resetting the connection while the app still works on it (auth, a slow
    // middleware) would be an uncaught exception.
    socket.on('error', onUpgradeSocketError);
    const request = req as UpgradableRequest;
    request[kUpgradeHead] = head;
    const res = new ServerResponse(req);
    void handle(req, res).then(() => {
      // A websocket owns the socket now: the response stays unbound and is garbage.
      if (request[kSocketTaken]) return;
      // An HTTP answer (400, 404, 405, ...): what Koa wrote is buffered in the response until
      // it has a socket; bind it, and close the connection once it is sent (the HTTP parser
      // left this socket on the 'upgrade' path, so it cannot carry another request).
      res.once('finish', () => {
        res.detachSocket(socket as Socket);
        (socket as Socket).destroySoon();
      });
      res.assignSocket(socket as Socket);
    }).catch((error: unknown) => {
      log('answering upgrade request %s: %O', redactForLog(req.url ?? ''), error);
      socket.destroy();
    });
  };
}

const kAdopted = Symbol('koa-sockjs.adoptedUpgrades');

interface AdoptableServer extends Server {
  [kAdopted]?: boolean;
}

/**
 * Called with the first requests of an app: when the server that received `req` has no
 * 'upgrade' listener, koa-sockjs becomes it, for as long as it is the only one.
 */
export function adoptUpgrades(app: Koa, req: IncomingMessage): void {
  const server = (req.socket as Socket & { server?: AdoptableServer }).server;
  if (!server || server[kAdopted] || typeof server.listenerCount !== 'function') return;
  server[kAdopted] = true;
  if (server.listenerCount('upgrade') > 0) return;
  const handle = upgradeHandler(app);
  server.on('upgrade', function adoptedUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
    // The application listens for 'upgrade' too: upgrades are its business now, and it hands
    // SockJS ones over with upgradeHandler(app).
    if (server.listenerCount('upgrade') > 1) return;
    handle(request, socket, head);
  });
}
