/**
 * Socket.IO 4 on a plain `http` server, websocket transport only: the comparison
 * issue 17 asks for where Socket.IO has an equivalent. One Socket.IO server per
 * route, each on its own path (the load generator connects to
 * `<route>/?EIO=4&transport=websocket`): /echo (every `m` event is sent back)
 * and /broadcast (every `m` event goes to every connected socket, `io.emit`),
 * and /rooms (the rooms scenario: `join` (room) answered `joined`, `to` (room,
 * text) sent to the room's members as `m`, `io.to(room).emit`).
 * No per-message compression (Socket.IO 4's default), as in the other servers.
 *
 * `--store redis` puts Socket.IO's Redis adapter (@socket.io/redis-adapter on
 * ioredis, under `--redis-prefix`) under /rooms, so several processes share its
 * rooms.
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

const rooms = new Server(server, { ...options, path: PREFIXES.rooms });
const closers: Array<() => Promise<unknown>> = [];
if (args.store === 'redis') {
  const [{ createAdapter }, { Redis }] = await Promise.all([import('@socket.io/redis-adapter'), import('ioredis')]);
  const pub = new Redis(args.redisUrl);
  const sub = pub.duplicate();
  rooms.adapter(createAdapter(pub, sub, { key: `${args.redisPrefix}rooms` }));
  closers.push(
    () => pub.quit(),
    () => sub.quit(),
  );
} else if (args.store !== 'memory') {
  throw new TypeError(`--store must be "memory" or "redis", got "${args.store}"`);
}
rooms.on('connection', (socket: Socket) => {
  socket.on('join', async (room: string) => {
    await socket.join(room);
    socket.emit('joined');
  });
  socket.on('to', (room: string, text: string) => {
    rooms.to(room).emit('m', text);
  });
});

await announce(server.listen(args.port, '127.0.0.1'), async () => {
  for (const close of closers) await close();
});
