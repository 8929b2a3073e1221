/**
 * For servers that already listen for 'upgrade' (another websocket library, a proxy): Node then
 * gives every upgrade request to those listeners and none to Koa. `upgradeHandler(app)` hands
 * one back to the Koa app, which serves it as usual:
 *
 *   server.on('upgrade', (req, socket, head) => {
 *     if (req.url?.startsWith('/chat/')) sockjsUpgrade(req, socket, head);
 *     else otherWss.handleUpgrade(...);
 *   });
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import { kUpgradeHead } from './transports/websocket-upgrade.js';

export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function upgradeHandler(app: Koa): UpgradeListener {
  const handle = app.callback();
  return function sockjsUpgrade(req, socket, head) {
    (req as IncomingMessage & { [kUpgradeHead]?: Buffer })[kUpgradeHead] = head;
    // A response bound to the socket, as Node would have made for the request handler, so
    // non-websocket answers (400, 404, 405) reach the client as ordinary HTTP responses.
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.on('finish', () => {
      res.detachSocket(socket as Socket);
      (socket as Socket).destroySoon();
    });
    void handle(req, res);
  };
}
