// The SockJS side of the browser tests: a Koa app, on its own origin, with an echo route and a
// route whose sessions the server closes. Built from the source (src/), not dist/.
import { EventEmitter } from 'node:events';
import { createReadStream } from 'node:fs';
import Koa from 'koa';
import { sockjs, Session, type OriginRule } from '../../src/index.js';
import { listenOnFreePort, SOCKJS_CLIENT_FILE, type ListeningServer } from './page-server.js';

/** Path the SockJS app serves the client bundle on; the iframe page loads it from there. */
export const SOCKJS_CLIENT_PATH = '/sockjs.min.js';

export interface SockjsTestServer extends ListeningServer {
  /** Emits `closed` with the session once the server has seen a session end. */
  events: EventEmitter;
  /** Requests per last path segment (`xhr_streaming`, `eventsource`, `info`, ...). */
  requests: Map<string, number>;
  /** Sessions opened so far, on either route. */
  readonly opened: number;
}

/**
 * `/echo` echoes every message back; `/close` closes the session (3000 "Go away!") on the
 * first message. `disconnectDelay` is short so a client close reaches the server quickly on
 * the polling transports, where the server only learns of it when no new poll arrives.
 */
export async function startSockjsServer(options: { origins: readonly OriginRule[] }): Promise<SockjsTestServer> {
  const events = new EventEmitter();
  const requests = new Map<string, number>();
  let opened = 0;

  class EchoSession extends Session {
    override onOpen(): void {
      opened++;
    }
    override onMessage(message: unknown): void {
      this.send(message);
    }
    override onClosed(): void {
      events.emit('closed', this);
    }
  }

  class CloseOnMessageSession extends Session {
    override onOpen(): void {
      opened++;
    }
    override onMessage(): void {
      this.close();
    }
  }

  const app = new Koa();
  app.use(async function countRequests(ctx, next) {
    const segment = ctx.path.slice(ctx.path.lastIndexOf('/') + 1);
    requests.set(segment, (requests.get(segment) ?? 0) + 1);
    await next();
  });
  app.use(async function serveSockjsClient(ctx, next) {
    if (ctx.path !== SOCKJS_CLIENT_PATH) return next();
    ctx.type = 'application/javascript';
    ctx.body = createReadStream(SOCKJS_CLIENT_FILE);
  });
  app.use(
    sockjs({
      name: 'echo',
      prefix: '/echo',
      session: EchoSession,
      sockjsUrl: SOCKJS_CLIENT_PATH,
      disconnectDelay: 1000,
      origins: options.origins,
    }),
  );
  app.use(
    sockjs({
      name: 'close',
      prefix: '/close',
      session: CloseOnMessageSession,
      sockjsUrl: SOCKJS_CLIENT_PATH,
      origins: options.origins,
    }),
  );

  const listening = await listenOnFreePort((port, host, onListening) => app.listen(port, host, onListening));
  return {
    ...listening,
    events,
    requests,
    get opened() {
      return opened;
    },
  };
}
