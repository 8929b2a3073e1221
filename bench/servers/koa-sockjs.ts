/**
 * koa-sockjs under test, on the same routes as the sockjs-node server:
 * /echo (echo), /broadcast (a message from the sending session goes to every
 * session through `this.manager.broadcast`), /flood (`flood:<start>:<count>`
 * makes the session send `count` messages), and /rooms (`j:<room>` joins a
 * room and answers `joined` once the join is effective on every process;
 * `<room>|<text>` sends `text` to the room's members through
 * `manager.to(room).broadcast`).
 *
 * `--store memory` (default) or `--store redis` selects the session store: the
 * hook for the Redis store, which the orchestrator runs as the
 * `koa-sockjs-redis` variant (`npm run bench -- --redis`).
 *
 * `--upgrade-listener` hands websocket upgrades to Koa from the server's
 * 'upgrade' event (`upgradeHandler(app)`) instead of letting Node pass them to
 * the request handler: the `koa-sockjs-upgrade` variant.
 */
import Koa from 'koa';
import { koaSockjs, loadRedisEntry } from './koa-sockjs-package.js';
import { sendFlood } from '../shared/messages.js';
import { announce, parseServerArgs, PREFIXES, type ServerArgs } from './common.js';

const { sockjs, Session, upgradeHandler } = koaSockjs;
const args = parseServerArgs();

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

class Broadcast extends Session {
  override onMessage(message: unknown): void {
    this.manager.broadcast(message);
  }
}

class Rooms extends Session {
  override onMessage(message: unknown): void {
    const text = String(message);
    if (text.startsWith('j:')) {
      void this.join(text.slice(2)).then(() => this.send('joined'));
      return;
    }
    const bar = text.indexOf('|');
    if (bar > 0) this.manager.to(text.slice(0, bar)).broadcast(text.slice(bar + 1));
  }
}

class Flood extends Session {
  override onMessage(message: unknown): void {
    sendFlood(message, (text) => this.send(text));
  }
}

/**
 * Builds the `store` option for one route. Memory is the middleware's own
 * default, so it returns nothing; Redis is loaded only when asked for, so the
 * bench runs before (and without) the Redis store.
 */
async function createStore(serverArgs: ServerArgs, name: string): Promise<Record<string, unknown>> {
  if (serverArgs.store === 'memory') return {};
  if (serverArgs.store === 'redis') {
    // Loaded only when asked for, so a memory-store run never loads ioredis.
    const { RedisStore } = await loadRedisEntry();
    return { store: new RedisStore({ url: serverArgs.redisUrl, keyPrefix: `${serverArgs.redisPrefix}${name}:` }) };
  }
  throw new TypeError(`--store must be "memory" or "redis", got "${serverArgs.store}"`);
}

const app = new Koa();
// Count app errors instead of letting Koa print each one to stderr (its default
// without a listener): a production app has a listener too, and the bench resets
// thousands of connections at the end of its runs. The count is reported at exit.
let appErrors = 0;
let firstAppError: unknown;
app.on('error', (error: unknown) => {
  appErrors++;
  firstAppError ??= error;
});
process.on('exit', () => {
  if (appErrors > 0) {
    const first = firstAppError instanceof Error ? firstAppError.message : String(firstAppError);
    console.error(`koa-sockjs bench server: ${appErrors} app error(s) emitted, the first: ${first}`);
  }
});
const routes = [
  { name: 'echo', prefix: PREFIXES.echo, session: Echo },
  { name: 'broadcast', prefix: PREFIXES.broadcast, session: Broadcast },
  { name: 'flood', prefix: PREFIXES.flood, session: Flood },
  { name: 'rooms', prefix: PREFIXES.rooms, session: Rooms },
];
for (const route of routes) {
  app.use(
    sockjs({
      ...route,
      ...(await createStore(args, route.name)),
      responseLimit: args.responseLimit,
    }),
  );
}

const server = app.listen(args.port, '127.0.0.1');
if (args.upgradeListener) server.on('upgrade', upgradeHandler(app));
await announce(server);
