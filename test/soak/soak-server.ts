/**
 * The server side of the soak (test/soak/soak.ts starts it as a child process, so the figures it
 * reports are the server's alone). One route, `/soak`, whose sessions:
 * - echo every string message;
 * - close on `close` (the client expects `c[3000,"Go away!"]` after its echoes);
 * - on `flood:<count>:<size>` send `<count>` messages `f<i>:` + `<size>` x's (for slow readers).
 * It counts onOpen and onRemove, and answers `{ type: 'stats' }` over IPC with memory, handles,
 * sessions and those counts, after a full garbage collection when run with --expose-gc.
 *
 * Environment: SOAK_REDIS_URL and SOAK_KEY_PREFIX for a RedisStore (else the MemoryStore),
 * SOAK_HEARTBEAT_DELAY, SOAK_DISCONNECT_DELAY (milliseconds).
 */
import Koa from 'koa';
import { Session, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { RedisStore } from '../../src/store/redis/index.js';

const counts = { opened: 0, removed: 0, errors: 0 };
const FLOOD = /^flood:(\d{1,6}):(\d{1,7})$/;

class Soak extends Session {
  override onOpen(): void {
    counts.opened++;
  }

  override onMessage(message: unknown): void {
    if (typeof message !== 'string') return;
    if (message === 'close') {
      this.close();
      return;
    }
    const flood = FLOOD.exec(message);
    if (flood) {
      const padding = 'x'.repeat(Number(flood[2]));
      for (let i = 0; i < Number(flood[1]); i++) this.send(`f${i}:${padding}`);
      return;
    }
    this.send(message);
  }

  override onRemove(): void {
    counts.removed++;
  }
}

const env = process.env;
const options: SockjsManagedOptions<Soak> = {
  name: 'soak',
  prefix: '/soak',
  session: Soak,
  heartbeatDelay: Number(env.SOAK_HEARTBEAT_DELAY ?? 10_000),
  disconnectDelay: Number(env.SOAK_DISCONNECT_DELAY ?? 2_000),
  onError: (error, context) => {
    counts.errors++;
    if (env.SOAK_VERBOSE) console.error(`[soak server ${process.pid}] ${context}:`, error);
  },
};
if (env.SOAK_REDIS_URL) options.store = new RedisStore({ url: env.SOAK_REDIS_URL, keyPrefix: env.SOAK_KEY_PREFIX ?? 'soak:' });
const route = sockjs(options);
const app = new Koa();
// A client's abrupt disconnect is expected here; anything else is counted and, if asked, shown.
app.on('error', (error: { status?: number }) => {
  if (error.status !== undefined && error.status < 500) return;
  counts.errors++;
  if (env.SOAK_VERBOSE) console.error(`[soak server ${process.pid}] app error:`, error);
});
app.use(route);

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  process.send!({ type: 'ready', port: address.port });
});

export interface SoakStats {
  type: 'stats';
  pid: number;
  rss: number;
  heapUsed: number;
  handles: number;
  sessions: number;
  opened: number;
  removed: number;
  errors: number;
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') {
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    const stats: SoakStats = {
      type: 'stats',
      pid: process.pid,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      handles: process.getActiveResourcesInfo().length,
      sessions: route.manager.size,
      ...counts,
    };
    process.send!(stats);
  } else if (message.type === 'stop') {
    server.closeAllConnections();
    server.close();
    void route.close().then(() => process.exit(0));
  }
});
// The parent went away: do not outlive it.
process.on('disconnect', () => process.exit(0));
