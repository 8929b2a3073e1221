/**
 * sockjs-node 0.3.24 on a plain `http` server: the baseline every ratio is taken against.
 * Routes: /echo (echo), /broadcast (every message is written to every open
 * connection), /flood (`flood:<start>:<count>` makes the session send `count` messages).
 */
import http from 'node:http';
import sockjs from 'sockjs';
import type { Connection, Server as SockjsServer } from 'sockjs';
import { sendFlood } from '../shared/messages.js';
import { announce, parseServerArgs, PREFIXES } from './common.js';

const args = parseServerArgs();

function createServer(): SockjsServer {
  return sockjs.createServer({
    // Same defaults as koa-sockjs; the log is silenced because sockjs-node logs every request.
    heartbeat_delay: 25_000,
    disconnect_delay: 5_000,
    response_limit: args.responseLimit,
    log: () => {},
  });
}

const echo = createServer();
echo.on('connection', (conn: Connection) => {
  conn.on('data', (message: string) => {
    conn.write(message);
  });
});

const broadcast = createServer();
const members = new Set<Connection>();
broadcast.on('connection', (conn: Connection) => {
  members.add(conn);
  conn.on('close', () => members.delete(conn));
  conn.on('data', (message: string) => {
    for (const member of members) member.write(message);
  });
});

const flood = createServer();
flood.on('connection', (conn: Connection) => {
  conn.on('data', (message: string) => sendFlood(message, (text) => conn.write(text)));
});

const server = http.createServer();
echo.installHandlers(server, { prefix: PREFIXES.echo });
broadcast.installHandlers(server, { prefix: PREFIXES.broadcast });
flood.installHandlers(server, { prefix: PREFIXES.flood });

await announce(server.listen(args.port, '127.0.0.1'));
