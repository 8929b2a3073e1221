/**
 * What every bench server process shares: argument parsing, listening on
 * 127.0.0.1, telling the orchestrator its port, and answering its requests
 * (`mem`: garbage-collect and report memory; `shutdown`: exit cleanly so that
 * `--cpu-prof` gets to write its profile).
 *
 * Protocol with the parent, over the IPC channel when there is one:
 *   server -> parent  { type: 'ready', port, pid }
 *   parent -> server  { type: 'mem', id }      server -> parent { type: 'mem', id, rss, heapUsed, external, youngGen }
 *   parent -> server  { type: 'shutdown' }
 * Without an IPC channel (run by hand) the server prints `READY <port>` on stdout.
 */
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics } from 'node:v8';

export interface ServerArgs {
  port: number;
  /** SockJS `responseLimit` for the streaming transports; small values make tests reconnect. */
  responseLimit: number;
  /** Session store for koa-sockjs: `memory` or `redis`. */
  store: string;
  redisUrl: string;
  /**
   * Key prefix of the Redis store (the route name is appended); processes given the same prefix
   * share sessions. Default: one of its own per process.
   */
  redisPrefix: string;
  /** koa-sockjs: take websocket upgrades from the server's 'upgrade' event (`upgradeHandler`). */
  upgradeListener: boolean;
}

export function parseServerArgs(argv: string[] = process.argv.slice(2)): ServerArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      'response-limit': { type: 'string', default: String(128 * 1024) },
      store: { type: 'string', default: 'memory' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
      'redis-prefix': { type: 'string', default: `bench:${process.pid}:` },
      'upgrade-listener': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  const responseLimit = Number(values['response-limit']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`--port must be 0..65535, got ${values.port}`);
  if (!Number.isInteger(responseLimit) || responseLimit <= 0) {
    throw new TypeError(`--response-limit must be a positive integer, got ${values['response-limit']}`);
  }
  return {
    port,
    responseLimit,
    store: values.store ?? 'memory',
    redisUrl: values['redis-url'] ?? '',
    redisPrefix: values['redis-prefix'] ?? `bench:${process.pid}:`,
    upgradeListener: values['upgrade-listener'] ?? false,
  };
}

interface MemRequest {
  type: 'mem';
  id: number;
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  // Twice: the first pass can leave weakly-held objects for the next one.
  gc();
  gc();
}

/**
 * Bytes V8's young generation holds (its semi-spaces, committed): RSS that does not grow with
 * what the process keeps but with how fast it allocated lately. V8 enlarges the young
 * generation while many objects survive (opening thousands of connections), up to its limit
 * (16 MB per semi-space by default on 64-bit), and a full GC empties it without giving it back.
 */
function youngGeneration(): number {
  let bytes = 0;
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space') bytes += space.physical_space_size;
  return bytes;
}

/**
 * Waits until `server` listens (each server script calls
 * `server.listen(args.port, '127.0.0.1')` itself: the bench only talks to
 * loopback) and announces the port. `close` runs before the process exits.
 */
export async function announce(server: Server, close: () => Promise<void> = async () => {}): Promise<void> {
  if (!server.listening) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');

  let exiting = false;
  const exit = (): void => {
    if (exiting) return;
    exiting = true;
    // Give close() a moment, but never wait on thousands of open sockets:
    // process.exit() is what makes --cpu-prof write its file.
    const timer = setTimeout(() => process.exit(0), 1000);
    timer.unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('bench server: close failed:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);

  if (process.send !== undefined) {
    process.on('message', (message: { type?: string }) => {
      if (message.type === 'shutdown') exit();
      else if (message.type === 'mem') {
        collectGarbage();
        const mem = process.memoryUsage();
        process.send?.({
          type: 'mem',
          id: (message as MemRequest).id,
          rss: mem.rss,
          heapUsed: mem.heapUsed,
          external: mem.external,
          youngGen: youngGeneration(),
        });
      }
    });
    // The orchestrator died: do not linger as an orphan holding a port.
    process.on('disconnect', exit);
    process.send({ type: 'ready', port: address.port, pid: process.pid });
  } else {
    console.log(`READY ${address.port}`);
  }
}

/** Route prefixes every SockJS bench server mounts. */
export const PREFIXES = {
  echo: '/echo',
  broadcast: '/broadcast',
  flood: '/flood',
  /**
   * Rooms: koa-sockjs's session joins on `j:<room>` (answering `joined`) and sends `<room>|<text>`
   * to a room; Socket.IO's socket has the events `join` and `to` (room, text).
   */
  rooms: '/rooms',
} as const;
