/**
 * The server side of `npm run bench:deflate`: koa-sockjs with one echo route, started by the
 * runner as a child process with `--deflate off|on|context` (on: the defaults, threshold 1024;
 * context: threshold 0, the connection's running context). It counts the bytes its sockets
 * carry and answers the runner's IPC questions: `mark` starts a measured window, `read` ends
 * it with the window's CPU time and bytes.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import type { SockjsManagedOptions } from '../../src/index.js';
import { koaSockjs } from '../servers/koa-sockjs-package.js';

const { sockjs, Session } = koaSockjs;
const { values } = parseArgs({ options: { deflate: { type: 'string', default: 'off' } } });
const DEFLATE: Record<string, SockjsManagedOptions['perMessageDeflate']> = { off: false, on: true, context: { threshold: 0 } };
if (!(values.deflate! in DEFLATE)) throw new Error(`--deflate must be off, on or context, got ${values.deflate}`);

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

const app = new Koa();
app.use(sockjs({ prefix: '/echo', session: Echo, perMessageDeflate: DEFLATE[values.deflate!], heartbeatDelay: 0 }));
const server = http.createServer(app.callback());
const sockets = new Set<Socket>();
let closedRead = 0;
let closedWritten = 0;
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => {
    sockets.delete(socket);
    closedRead += socket.bytesRead;
    closedWritten += socket.bytesWritten;
  });
});

function bytes(): { read: number; written: number } {
  let read = closedRead;
  let written = closedWritten;
  for (const socket of sockets) {
    read += socket.bytesRead;
    written += socket.bytesWritten;
  }
  return { read, written };
}

let mark = { cpu: process.cpuUsage(), bytes: bytes(), at: process.hrtime.bigint() };
process.on('message', (message: string) => {
  if (message === 'mark') {
    mark = { cpu: process.cpuUsage(), bytes: bytes(), at: process.hrtime.bigint() };
    process.send!({ kind: 'marked' });
  } else if (message === 'read') {
    const cpu = process.cpuUsage(mark.cpu);
    const now = bytes();
    process.send!({
      kind: 'read',
      cpuMicros: cpu.user + cpu.system,
      wallMicros: Number(process.hrtime.bigint() - mark.at) / 1000,
      bytesRead: now.read - mark.bytes.read,
      bytesWritten: now.written - mark.bytes.written,
      rss: process.memoryUsage().rss,
    });
  } else if (message === 'exit') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});

server.listen(0, '127.0.0.1', () => {
  process.send!({ kind: 'listening', port: (server.address() as AddressInfo).port });
});
