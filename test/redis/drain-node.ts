/**
 * One koa-sockjs process of the graceful shutdown test on Redis (a real child process): an
 * echo route on a RedisStore. Reports over IPC `{ type: 'ready', port }` and every hook as
 * `{ type: 'hook', hook, id }`. Commands from the parent: `{ cmd: 'send', message }` sends to
 * every open session here (answers `{ type: 'sent', count }`); `{ cmd: 'stats' }` answers
 * `{ type: 'stats', sessions }` (the route's `stats().sessions`); `{ cmd: 'close', timeout }`
 * closes the route gracefully (answers `{ type: 'closing' }` at once and `{ type: 'closed',
 * sessions }` once done), then the process exits.
 *
 * Environment: REDIS_URL, KEY_PREFIX.
 */
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { RedisStore } from '../../src/store/redis/index.js';

function report(event: Record<string, unknown>): void {
  process.send?.(event);
}

class Echo extends Session {
  override onOpen(): void {
    report({ type: 'hook', hook: 'onOpen', id: this.id });
  }
  override onMessage(message: unknown): void {
    report({ type: 'hook', hook: 'onMessage', id: this.id, message });
    this.send(message);
  }
  override onClose(): void {
    report({ type: 'hook', hook: 'onClose', id: this.id });
  }
}

const store = new RedisStore({ url: process.env.REDIS_URL!, keyPrefix: process.env.KEY_PREFIX!, nodeTtl: 10_000 });
const route = sockjs({ prefix: '/echo', session: Echo, store });
const app = new Koa();
app.use(route);
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  report({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
});

process.on('message', (command: { cmd: string; message?: unknown; timeout?: number }) => {
  if (command.cmd === 'send') {
    const sessions = route.manager.activeSessions();
    for (const session of sessions) session.send(command.message);
    report({ type: 'sent', count: sessions.length });
  } else if (command.cmd === 'stats') {
    report({ type: 'stats', sessions: route.manager.stats().sessions });
  } else if (command.cmd === 'close') {
    report({ type: 'closing' });
    void route.close({ timeout: command.timeout ?? 0 }).then(() => {
      report({ type: 'closed', sessions: route.manager.stats().sessions });
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
});
process.on('disconnect', () => process.exit(0));
