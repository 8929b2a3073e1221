/**
 * `sockjs(options)`: resolves the options once, then returns the route's Koa middleware, which
 * answers every URL under the prefix and passes everything else to `next()` untouched.
 */
import type { Context, Middleware, Next } from 'koa';
import { declareRoute, kRoute, retireRoute, routesOf } from './app-routes.js';
import { adoptUpgrades } from './upgrade.js';
import { greeting } from './endpoints/greeting.js';
import { IFRAME_PATH, iframeEndpoint } from './endpoints/iframe.js';
import { info } from './endpoints/info.js';
import { quietClientErrors } from './http/client-gone.js';
import { answerPreflight, setCors } from './http/headers.js';
import { respondMethodNotAllowed } from './http/raw.js';
import { respondStoreUnavailable, respondText } from './http/text.js';
import { refuseDraining } from './security/admission.js';
import { resolveOptions, type ResolvedRoute, type RouteConfig, type SockjsOptions } from './options.js';
import { connectorOf, type SessionConnector } from './session/connector.js';
import type { CloseOptions, SessionManager } from './session/manager.js';
import { ContextRequestInfo } from './session/request-info.js';
import type { Session } from './session/session.js';
import { isEnabled, transportTable } from './transports/index.js';
import { createWebsocketServer } from './transports/shared/websocket-upgrade.js';

/** The middleware, with its route's manager and a way to shut the route down. */
export interface SockjsMiddleware<S extends Session = Session> extends Middleware {
  /** The route's session manager; the same as `ctx.sockjs(name)`. */
  readonly manager: SessionManager<S>;
  /** The route's resolved options (defaults filled in, validated). */
  readonly route: RouteConfig;
  /**
   * Shuts the route down: refuses new sessions, gives receivers up to `timeout` ms to take
   * what is queued, then closes what is left with `c[1001,"Server is shutting down"]` (or,
   * on a shared store, leaves it to the other processes), and closes the store. See
   * {@link CloseOptions}; README, "Shutdown".
   */
  close(options?: CloseOptions): Promise<void>;
}

/** `/<server>/<session>/<transport>`: no part empty, no dots (protocol suite, SessionURLs). */
const SESSION_URL = /^\/([^/.]+)\/([^/.]+)\/([^/.]+)$/;

function notFound(ctx: Context): void {
  ctx.status = 404;
  ctx.body = 'Not found.';
}

/**
 * Answers 403 when the page behind the request is not allowed to use the route (the `origins`
 * option): no CORS header, nothing created, received or sent; a websocket upgrade is refused
 * before its handshake. True when refused.
 */
async function refusedOrigin(ctx: Context, route: ResolvedRoute, session: SessionConnector, pageElement = false): Promise<boolean> {
  if (await route.origins.allows(ctx, pageElement)) return false;
  session.metrics.refused('origin');
  ctx.vary('Origin');
  respondText(ctx, 403, 'Origin not allowed.');
  return true;
}

/**
 * Creates the Koa middleware of one SockJS route: every endpoint and transport of the SockJS
 * protocol (0.3.3) under `options.prefix`. Requests outside the prefix go to `next()`
 * untouched. Mount one per route, with `app.use()`; websocket works with `app.listen()` and
 * `http.createServer(app.callback())` alike.
 *
 * @param options - The route's options; see {@link SockjsOptions} for each, with its default.
 * @returns The middleware, with the route's `manager`, its resolved options (`route`) and
 *   `close()`.
 * @throws {@link SockjsOptionError} for a wrong or unknown option, naming it. Two routes of
 *   one app with the same name or prefix make the app's first request fail with one.
 */
export function sockjs<S extends Session = Session>(options: SockjsOptions<S> = {}): SockjsMiddleware<S> {
  const route = resolveOptions(options);
  const { prefix, manager } = route;
  declareRoute(route);
  // The connection protocol: how this middleware and its transports reach the route's sessions.
  const session = connectorOf(manager);
  const wss = createWebsocketServer(route.maxMessageSize, route.perMessageDeflate, route.websocketCloseTimeout);
  const { sessionUrls, routeUrls } = transportTable(wss);
  const iframe = iframeEndpoint(route.sockjsUrl, route.origins.frameAncestors);

  async function sockjsMiddleware(ctx: Context, next: Next): Promise<void> {
    const routes = routesOf(ctx, route);
    adoptUpgrades(ctx.app, ctx.req);
    ctx.state.sockjs = routes.view;
    const path = ctx.path;
    if (!path.startsWith(prefix) || (path.length > prefix.length && path.charCodeAt(prefix.length) !== 47 /* / */)) {
      return next();
    }
    // A client that hangs up mid-body or drops a stream is no server fault: keep Koa's default
    // error handler quiet about it (once per connection).
    quietClientErrors(ctx.req.socket);
    session.serveApp(ctx.app);
    try {
      const started = session.start();
      if (started) await started;
    } catch (error) {
      manager.reportError(error, 'subscribing to the store');
      respondStoreUnavailable(ctx);
      return;
    }
    const rest = path.slice(prefix.length);
    if (rest === '' || rest === '/') {
      if (ctx.method === 'GET' || ctx.method === 'HEAD') greeting(ctx);
      else respondMethodNotAllowed(ctx, ['GET', 'HEAD']);
      return;
    }
    if (rest === '/info') {
      if (ctx.method !== 'GET' && ctx.method !== 'OPTIONS') respondMethodNotAllowed(ctx, ['OPTIONS', 'GET']);
      else if (!(await refusedOrigin(ctx, route, session))) {
        // A client opening a session starts here: while the route drains, 503 tells it at once
        // to go elsewhere (sockjs-client gives up on the route instead of trying each transport).
        // With CORS headers, as the 200 would have them: a cross-origin page (and its health
        // check) can read the 503, not just a network error.
        if (ctx.method === 'GET' && session.draining) {
          if (route.cors) setCors(ctx);
          refuseDraining(ctx, session);
        } else info(ctx, route);
      }
      return;
    }
    if (IFRAME_PATH.test(rest)) {
      iframe.handle(ctx);
      return;
    }
    // `<prefix>/websocket` (the raw websocket): no preflight, the method checked before the origin.
    const routeUrl = routeUrls.get(rest.slice(1));
    if (routeUrl) {
      if (!isEnabled(routeUrl, route)) notFound(ctx);
      else if (!routeUrl.methods.includes(ctx.method)) respondMethodNotAllowed(ctx, routeUrl.methods);
      else if (!(await refusedOrigin(ctx, route, session, routeUrl.pageElement))) {
        try {
          await routeUrl.handle({ ctx, route, session });
        } finally {
          route.gate.settle(ctx);
        }
      }
      return;
    }
    const match = SESSION_URL.exec(rest);
    const transport = match ? sessionUrls.get(match[3]!) : undefined;
    if (!match || !transport || !isEnabled(transport, route)) {
      notFound(ctx);
      return;
    }
    if (await refusedOrigin(ctx, route, session, transport.pageElement)) return;
    if (ctx.method === 'OPTIONS' && transport.preflight) {
      answerPreflight(ctx, transport.methods, route.cors);
      return;
    }
    if (!transport.methods.includes(ctx.method)) {
      respondMethodNotAllowed(ctx, transport.preflight ? ['OPTIONS', ...transport.methods] : transport.methods);
      return;
    }
    try {
      await transport.handle({
        ctx,
        route,
        session,
        key: match[2]!,
        request: new ContextRequestInfo(ctx),
      });
    } finally {
      // Admission and session creation are over: the room held under limits.maxSessions is free.
      route.gate.settle(ctx);
    }
  }

  return Object.assign(sockjsMiddleware, {
    [kRoute]: route,
    manager: manager as unknown as SessionManager<S>,
    route,
    close: async (options?: CloseOptions) => {
      retireRoute(route);
      await manager.close(options);
      wss.close();
    },
  });
}
