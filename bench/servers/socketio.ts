/**
 * Socket.IO 4 on a plain `http` server, websocket transport only: the comparison
 * issue 17 asks for where Socket.IO has an equivalent. One Socket.IO server per
 * route, each on its own path (the load generator connects to
 * `<route>/?EIO=4&transport=websocket`): /echo (every `m` event is sent back)
 * and /broadcast (every `m` event goes to every connected socket, `io.emit`).
 * No per-message compression (Socket.IO 4's default), as in the other servers.
 */
import http from 'node:http';
import { Server, type Socket } from 'socket.io';
import { announce, parseServerArgs, PREFIXES } from './common.js';

const args = parseServerArgs();
const server = http.createServer();

// destroyUpgrade: false, or each server would close the upgrades meant for the other's path.
const options = { transports: ['websocket' as const], serveClient: false, destroyUpgrade: false, perMessageDeflate: false };

const echo = new Server(server, { ...options, path: PREFIXES.echo });
echo.on('connection', (socket: Socket) => {
  socket.on('m', (message: unknown) => socket.emit('m', message));
});

const broadcast = new Server(server, { ...options, path: PREFIXES.broadcast });
broadcast.on('connection', (socket: Socket) => {
  socket.on('m', (message: unknown) => broadcast.emit('m', message));
});

await announce(server.listen(args.port, '127.0.0.1'));
