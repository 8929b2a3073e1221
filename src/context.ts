/**
 * Types `ctx.sockjs(name)` and `ctx.state.sockjs` in user code, through Koa's context
 * declaration (importing koa-sockjs is enough), keeping each route's Session class.
 */
import type { SessionManager } from './session/manager.js';
import type { Session } from './session/session.js';

/**
 * The Session class of each of the application's routes, by route name, for typing
 * `ctx.sockjs(name)` and `ctx.state.sockjs` without a type argument. Empty until the application
 * declares its routes (module augmentation):
 *
 * ```ts
 * declare module 'koa-sockjs' {
 *   interface SockjsRoutes { chat: ChatSession }
 * }
 * // ctx.sockjs('chat').activeSessions() is ChatSession[]
 * ```
 */
export interface SockjsRoutes {}

/**
 * `ctx.state.sockjs`: the SessionManagers of the app's SockJS routes by name; a route declared
 * in {@link SockjsRoutes} with its own Session class.
 */
export type SockjsManagers = { readonly [N in keyof SockjsRoutes]?: SessionManager<SockjsRoutes[N] & Session> } & {
  readonly [name: string]: SessionManager | undefined;
};

declare module 'koa' {
  interface DefaultContext {
    /**
     * The SessionManager of the SockJS route named `name`, typed with the route's Session
     * class as declared in {@link SockjsRoutes}.
     * @throws {@link UnknownRouteError} for a route this app never mounted.
     */
    sockjs<N extends keyof SockjsRoutes & string>(name: N): SessionManager<SockjsRoutes[N] & Session>;
    /**
     * The SessionManager of the SockJS route named `name` (default `''`). `S` is the route's
     * Session class (`ctx.sockjs<Chat>('chat')`), so `activeSessions()` and `get()` return it;
     * it is taken on trust, as the route was created elsewhere.
     * @throws {@link UnknownRouteError} for a route this app never mounted.
     */
    sockjs<S extends Session = Session>(name?: string): SessionManager<S>;
  }
  interface DefaultState {
    /** The SessionManagers of this app's SockJS routes, by route name (see {@link SockjsManagers}). */
    sockjs?: SockjsManagers;
  }
}
