/**
 * Which SockJS routes an app has, for `ctx.sockjs(name)` and for refusing two routes with the
 * same name or prefix. Kept per app (a WeakMap keyed by the Koa application), so two apps in
 * one process never see each other's sessions.
 */
import Koa from 'koa';
import { SockjsOptionError, UnknownRouteError } from './errors.js';
import type { RouteConfig } from './options.js';
import type { SessionManager } from './session/manager.js';

export const kRoute = Symbol('koa-sockjs.route');

interface AppRoutes {
  readonly byName: Map<string, RouteConfig>;
  /**
   * Routes by the path they answer in this app: the path they are mounted at (koa-mount, a
   * sub-app) and their prefix. Two routes with the prefix '/chat' mounted at '/a' and '/b' are
   * no conflict; two that answer the same path are (the second would never see a request).
   */
  readonly byPath: Map<string, RouteConfig>;
  /** Routes whose path in this app is known (checked once, on their first request). */
  readonly placed: WeakSet<RouteConfig>;
  /** Frozen name -> manager view for ctx.state.sockjs; rebuilt when a route is added. */
  view: Readonly<Record<string, SessionManager>>;
}

const appRoutes = new WeakMap<object, AppRoutes>();

/**
 * Routes that belong to no app yet: created, not closed, reached by no request. A route mounted
 * with app.use() is found by scanning the app's middleware, but one inside @koa/router, koa-mount
 * or a sub-app is hidden in a closure until its first request; without this, `ctx.sockjs(name)`
 * threw UnknownRouteError (a 500 from the README's own recipes) until a client had connected.
 */
const unbound = new Set<RouteConfig>();

/** A new route, which ctx.sockjs(name) may find before it served any request. */
export function declareRoute(route: RouteConfig): void {
  unbound.add(route);
}

/** A closed route is found only by the apps it served. */
export function retireRoute(route: RouteConfig): void {
  unbound.delete(route);
}

/**
 * Adds a route to an app's registry. `mountPath` is where the app mounts it ('' for app.use()
 * and routers, which do not rewrite the path); undefined when not known yet (found by name
 * before its first request), in which case its path is checked when that request comes.
 */
function addRoute(routes: AppRoutes, route: RouteConfig, mountPath: string | undefined): void {
  const existing = routes.byName.get(route.name);
  if (existing && existing !== route) throw new SockjsOptionError('name', `${JSON.stringify(route.name)} is used by two SockJS routes of one app`);
  if (mountPath !== undefined) {
    const path = mountPath + route.prefix;
    const other = routes.byPath.get(path);
    if (other && other !== route) {
      const where = mountPath === '' ? '' : ` (mounted at ${JSON.stringify(mountPath)})`;
      throw new SockjsOptionError('prefix', `${JSON.stringify(route.prefix)}${where} is used by two SockJS routes (${JSON.stringify(other.name)} and ${JSON.stringify(route.name)})`);
    }
    routes.byPath.set(path, route);
  }
  if (existing) return;
  routes.byName.set(route.name, route);
  unbound.delete(route);
  routes.view = Object.freeze(Object.fromEntries([...routes.byName].map(([name, r]) => [name, r.manager])));
}

/**
 * The app's routes. The first call scans `app.middleware` for every SockJS route mounted with
 * app.use(), so conflicts show on the first request and `ctx.sockjs()` finds routes mounted
 * anywhere in the stack; routes mounted some other way (koa-mount, compose) join when reached.
 */
function registryOf(app: Koa): AppRoutes {
  let routes = appRoutes.get(app);
  if (!routes) {
    routes = { byName: new Map(), byPath: new Map(), placed: new WeakSet(), view: Object.freeze({}) };
    for (const middleware of app.middleware) {
      const route = (middleware as { [kRoute]?: RouteConfig })[kRoute];
      if (route) {
        addRoute(routes, route, '');
        routes.placed.add(route);
      }
    }
    appRoutes.set(app, routes);
  }
  return routes;
}

/**
 * The routes of the app serving `ctx`, with `current` among them. On a route's first request in
 * an app, where it is mounted: what koa-mount (or any middleware that rewrites the path) took
 * off the front of the request's path.
 */
export function routesOf(ctx: Koa.Context, current: RouteConfig): AppRoutes {
  const routes = registryOf(ctx.app);
  if (!routes.placed.has(current)) {
    const url = ctx.originalUrl;
    const query = url.indexOf('?');
    const original = query === -1 ? url : url.slice(0, query);
    const path = ctx.path;
    // koa-mount answers its own path with '/': '/realtime' mounted there is '/realtime' + '/'.
    const mountPath = original.endsWith(path) ? original.slice(0, original.length - path.length) : path === '/' ? original : '';
    addRoute(routes, current, mountPath);
    routes.placed.add(current);
  }
  return routes;
}

function lookup(this: Koa.Context, name = ''): SessionManager {
  const routes = registryOf(this.app);
  let route = routes.byName.get(name);
  if (!route) {
    // Not reached by a request yet: the one route of that name that belongs to no app is this
    // app's (with two, from two apps of one process, there is no telling which).
    const candidates = [...unbound].filter((candidate) => candidate.name === name);
    if (candidates.length !== 1) throw new UnknownRouteError(name, [...routes.byName.keys()]);
    route = candidates[0]!;
    addRoute(routes, route, undefined);
  }
  return route.manager;
}

/**
 * `ctx.sockjs` lives on Koa's base context prototype, so every middleware of every app has it,
 * even one that runs before any SockJS route was reached. It resolves per app.
 */
const baseContext = Object.getPrototypeOf(new Koa().context) as object;
if (!Object.prototype.hasOwnProperty.call(baseContext, 'sockjs')) {
  Object.defineProperty(baseContext, 'sockjs', { value: lookup, configurable: true, writable: true });
}
