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
  /** Frozen name -> manager view for ctx.state.sockjs; rebuilt when a route is added. */
  view: Readonly<Record<string, SessionManager>>;
}

const appRoutes = new WeakMap<object, AppRoutes>();

function addRoute(routes: AppRoutes, route: RouteConfig): void {
  const existing = routes.byName.get(route.name);
  if (existing === route) return;
  if (existing) throw new SockjsOptionError('name', `${JSON.stringify(route.name)} is used by two SockJS routes of one app`);
  for (const other of routes.byName.values()) {
    if (other.prefix === route.prefix) {
      throw new SockjsOptionError('prefix', `${JSON.stringify(route.prefix)} is used by two SockJS routes (${JSON.stringify(other.name)} and ${JSON.stringify(route.name)})`);
    }
  }
  routes.byName.set(route.name, route);
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
    routes = { byName: new Map(), view: Object.freeze({}) };
    for (const middleware of app.middleware) {
      const route = (middleware as { [kRoute]?: RouteConfig })[kRoute];
      if (route) addRoute(routes, route);
    }
    appRoutes.set(app, routes);
  }
  return routes;
}

export function routesOf(app: Koa, current: RouteConfig): AppRoutes {
  const routes = registryOf(app);
  addRoute(routes, current);
  return routes;
}

function lookup(this: Koa.Context, name = ''): SessionManager {
  const routes = registryOf(this.app);
  const route = routes.byName.get(name);
  if (!route) throw new UnknownRouteError(name, [...routes.byName.keys()]);
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
