/**
 * Types `ctx.sockjs(name)` and `ctx.state.sockjs` in user code, through Koa's context
 * declaration (importing koa-sockjs is enough).
 */
import type { SessionManager } from './session/manager.js';

declare module 'koa' {
  interface DefaultContext {
    /** The SessionManager of the SockJS route named `name` (default ''). Throws UnknownRouteError. */
    sockjs(name?: string): SessionManager;
  }
  interface DefaultState {
    /** The SessionManagers of this app's SockJS routes, by route name. */
    sockjs?: Readonly<Record<string, SessionManager>>;
  }
}

export {};
