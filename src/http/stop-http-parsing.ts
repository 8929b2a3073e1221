/**
 * Taking a socket away from Node's HTTP parser, for a websocket accepted on the request path.
 *
 * Until the route listens for 'upgrade' (see ../upgrade.ts), upgrade requests reach Koa as
 * ordinary requests: the first requests of a fresh server, or every request of a reconnect storm
 * that arrived while a slow middleware in front held the first one. After the handshake such a
 * socket still feeds Node's HTTP parser, which takes the client's first websocket frame for the
 * start of a new request; the server's request-timeout check (`headersTimeout`, 60 s by default,
 * looked at every `connectionsCheckingInterval`) then writes `HTTP/1.1 408` into the live
 * websocket and destroys it (issue 9, fault 2). On the 'upgrade' path Node itself stops feeding
 * the parser (lib/_http_server.js, onParserExecuteCommon removes its 'data' listener); this does
 * the same for the request path.
 */
import type { Socket } from 'node:net';

/**
 * Stops Node's HTTP server from reading `socket`. Call it before the websocket implementation
 * adds its own 'data' listener, in the same tick (bytes that come in between would be lost).
 */
export function stopHttpParsing(socket: Socket): void {
  // On the request path every 'data' listener so far is the server's feed into its parser:
  // nothing else reads a socket whose request is still being answered. When the websocket adds
  // its own listener, Node's listener wrapper also stops the parser from reading the stream
  // natively.
  for (const listener of socket.listeners('data')) socket.removeListener('data', listener as (...args: unknown[]) => void);
}
