/**
 * A SockJS route behind the middleware a real Koa app mounts first: koa-logger, a response-time
 * middleware, koa-session, @koa/cors, koa-compress, koa-body (and koa-helmet, on request). For
 * the tests of sockjs-client in Node and in Chromium with a body parser in front (issue 11).
 */
import { createReadStream } from 'node:fs';
import Koa from 'koa';
import cors from '@koa/cors';
import { koaBody } from 'koa-body';
import compress from 'koa-compress';
import helmet from 'koa-helmet';
import logger from 'koa-logger';
import session from 'koa-session';
import { Session, sockjs, type OriginRule, type SockjsMiddleware } from '../../src/index.js';

export interface RealApp {
  app: Koa;
  route: SockjsMiddleware;
  /** Errors the app heard; none is expected. */
  errors: unknown[];
  /** koa-logger's lines. */
  logged: string[];
}

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

export function realApp(options: { helmet?: boolean; origins?: readonly OriginRule[]; sockjsClientFile?: string } = {}): RealApp {
  const app = new Koa();
  app.keys = ['real-app'];
  const errors: unknown[] = [];
  const logged: string[] = [];
  app.on('error', (error: unknown) => errors.push(error));
  app.use(logger((line) => logged.push(line)));
  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    await next();
    ctx.set('X-Response-Time', `${Number(process.hrtime.bigint() - started) / 1e6}ms`);
  });
  app.use(session({ key: 'real.sess' }, app));
  app.use(async (ctx, next) => {
    ctx.session!['seen'] = ((ctx.session!['seen'] as number | undefined) ?? 0) + 1;
    await next();
  });
  app.use(cors({ credentials: true }));
  if (options.helmet) app.use(helmet());
  app.use(compress({ threshold: 0 }));
  app.use(koaBody());
  const clientFile = options.sockjsClientFile;
  if (clientFile !== undefined) {
    app.use(async (ctx, next) => {
      if (ctx.path !== '/sockjs.min.js') return next();
      ctx.type = 'application/javascript';
      ctx.body = createReadStream(clientFile);
    });
  }
  const route = sockjs({
    prefix: '/echo',
    session: Echo,
    disconnectDelay: 1000,
    ...(options.origins ? { origins: options.origins } : {}),
    ...(clientFile !== undefined ? { sockjsUrl: '/sockjs.min.js' } : {}),
  });
  app.use(route);
  return { app, route, errors, logged };
}
