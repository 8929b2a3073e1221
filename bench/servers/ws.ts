/**
 * Raw `ws` with no SockJS framing: the floor for the websocket scenarios.
 * Routes: /echo and /broadcast, one message per websocket frame.
 */
import http from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { announce, parseServerArgs, PREFIXES } from './common.js';

const args = parseServerArgs();

const echo = new WebSocketServer({ noServer: true });
echo.on('connection', (ws: WebSocket) => {
  ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data, { binary: isBinary }));
});

const broadcast = new WebSocketServer({ noServer: true });
broadcast.on('connection', (ws: WebSocket) => {
  ws.on('message', (data: RawData, isBinary: boolean) => {
    for (const client of broadcast.clients) client.send(data, { binary: isBinary });
  });
});

const server = http.createServer((_req, res) => {
  res.writeHead(404).end();
});
server.on('upgrade', (req, socket, head) => {
  const path = (req.url ?? '').split('?')[0];
  const target = path === PREFIXES.echo ? echo : path === PREFIXES.broadcast ? broadcast : null;
  if (target === null) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
});

await announce(server.listen(args.port, '127.0.0.1'));
