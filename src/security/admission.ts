/**
 * Admission: what a request must pass before it creates a session or reaches an existing one.
 *
 * A request that would create a session (a receiving request for an unknown session id, every
 * websocket) passes, in this order: the flood limits (cheap, and they shield what follows), the
 * route's `use` middleware (authorization, composed with koa-compose), and the identity
 * function. Only then does anything exist: no session, no hook, no store write before. A
 * request for an existing session passes the identity check alone; the `use` chain ran when
 * the session was created and is not run on every poll.
 *
 * The origin check (./origins.ts) runs earlier, in the middleware, for every request.
 */
import type { Context, Middleware } from 'koa';
import compose from 'koa-compose';
import { respondStoreUnavailable, respondText } from '../http/text.js';
import { logger } from '../log.js';
import type { RefusalReason } from '../metrics/names.js';
import type { StoreAdapter } from '../store/adapter.js';
import type { Awaitable, SessionRecord } from '../store/store.js';
import type { Admission } from '../session/connector.js';
import { redactForLog } from '../session/request-info.js';
import { identityDigest, type IdentityFunction } from './identity.js';
import { consumeNewSession, type ResolvedLimits } from './limits.js';

const log = logger('admission');

/** What the session layer gets for a request that was let through (declared by the session layer). */
export type { Admission };

/** The answer to a request for a session that does not exist (and to one of another identity). */
export function respondNoSession(ctx: Context): void {
  respondText(ctx, 404, 'No such session.');
}

/** An error thrown with ctx.throw(4xx) or http-errors, duck-typed (any copy of http-errors). */
interface ClientError {
  status: number;
  message: string;
  expose?: boolean;
  headers?: Record<string, string>;
}

function isClientError(error: unknown): error is ClientError {
  const status = (error as { status?: unknown } | null)?.status;
  return error instanceof Error && typeof status === 'number' && status >= 400 && status < 500;
}

/** What sessions get when their request's middleware left nothing on `ctx.state`. */
const NO_DATA: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * `ctx.state` without the route table koa-sockjs puts there. A session keeps it for its whole
 * life: when nothing else is there (no middleware put anything), every session shares one
 * frozen empty object instead of a copy each.
 */
function snapshotState(ctx: Context): Readonly<Record<string, unknown>> {
  const state = ctx.state as Record<string, unknown>;
  if (holdsOnlyRoutes(state)) return NO_DATA;
  const { sockjs: _routes, ...data } = state;
  return Object.freeze(data);
}

/** True when `state` has no own enumerable key but `sockjs` (what the object spread would copy). */
function holdsOnlyRoutes(state: Record<string, unknown>): boolean {
  for (const key in state) if (key !== 'sockjs' && Object.prototype.hasOwnProperty.call(state, key)) return false;
  return Object.getOwnPropertySymbols(state).length === 0;
}

/**
 * A store lookup of the gate. A failed store is answered 503 (its error, which may name hosts
 * and keys, goes to onError, never to the client), as everywhere else the store fails a
 * request; undefined then, and the response is set.
 */
async function fromStore<T>(ctx: Context, target: GateTarget, what: string, ask: () => Awaitable<T>): Promise<{ value: T } | undefined> {
  try {
    return { value: await ask() };
  } catch (error) {
    target.reportError(error, `store ${what} for ${ctx.method} ${redactForLog(ctx.path)}`);
    respondStoreUnavailable(ctx);
    return undefined;
  }
}

function matches(identity: string | undefined, record: SessionRecord): boolean {
  return typeof identity === 'string' && identity !== '' && record.identity === identityDigest(identity);
}

/** What the gate needs of the route's session layer (its SessionConnector): its store, and where refusals are counted. */
export interface GateTarget {
  readonly store: Pick<StoreAdapter, 'get' | 'count'>;
  /** Where a failed store lookup is reported (onError). */
  reportError(error: unknown, context: string): void;
  readonly metrics: { refused(reason: RefusalReason): void };
  /** The route is shutting down (close() was called): no new session. */
  readonly draining?: boolean | undefined;
}

/** A new session asked of a route that is shutting down: 503, and the client tries elsewhere. */
export function refuseDraining(ctx: Context, target: GateTarget): undefined {
  log('%s %s refused: the route is shutting down', ctx.method, ctx.path);
  target.metrics.refused('draining');
  respondText(ctx, 503, 'Server is shutting down.');
  return undefined;
}

export interface GateOptions {
  readonly use: readonly Middleware[];
  readonly identity: IdentityFunction | undefined;
  readonly limits: ResolvedLimits | undefined;
}

export class Gate {
  readonly #authorize: ((ctx: Context, next: () => Promise<void>) => Promise<unknown>) | undefined;
  readonly #identity: IdentityFunction | undefined;
  readonly #limits: ResolvedLimits | undefined;
  /** Whether a receiving request must find out if its session exists before anything else. */
  readonly #looksUp: boolean;
  /**
   * Requests of this process that passed the `maxSessions` count and whose session is not in
   * the store yet (their `use` chain, identity function or handshake is still running). They
   * count as sessions: otherwise requests arriving together all see room, and pass together.
   */
  #admitting = 0;
  readonly #reserved = new WeakSet<Context>();

  constructor(options: GateOptions) {
    this.#authorize = options.use.length ? (compose([...options.use]) as (ctx: Context, next: () => Promise<void>) => Promise<unknown>) : undefined;
    this.#identity = options.identity;
    this.#limits = options.limits;
    this.#looksUp = this.#authorize !== undefined || this.#identity !== undefined || this.#limits !== undefined;
  }

  /**
   * Called once the request is done with admission and session creation, whatever the outcome:
   * frees the room it held under `maxSessions` (its session, if any, is in the store by now).
   */
  settle(ctx: Context): void {
    if (this.#reserved.delete(ctx)) this.#admitting--;
  }

  /** Whether sessions are bound to an identity. */
  get binds(): boolean {
    return this.#identity !== undefined;
  }

  /**
   * A receiving request (xhr, xhr_streaming, eventsource, htmlfile, jsonp). Undefined when it
   * was refused; the response (401, 403, 404, 429) is set on ctx.
   */
  async forReceiver(ctx: Context, key: string, target: GateTarget): Promise<Admission | undefined> {
    if (!this.#looksUp && !target.draining) return { data: snapshotState(ctx) };
    const found = await fromStore(ctx, target, 'get', () => target.store.get(key));
    if (!found) return undefined;
    const record = found.value;
    if (record) {
      if (!(await this.#sameIdentity(ctx, record))) {
        log('%s %s: the session belongs to another identity; answered as unknown', ctx.method, redactForLog(ctx.path));
        target.metrics.refused('authorization');
        respondNoSession(ctx);
        return undefined;
      }
      return { data: {}, record };
    }
    return this.#admitNew(ctx, target);
  }

  /**
   * A sending request (xhr_send, jsonp_send): true when it may reach the session under `key`;
   * undefined when the response is set already (503: the store failed the lookup).
   */
  async forSend(ctx: Context, key: string, target: GateTarget): Promise<boolean | undefined> {
    if (!this.#identity) return true;
    // The identity function runs whether or not the session exists, so whatever it does to the
    // response (anonymousCookie sets a cookie) cannot tell the two apart.
    const identity = await this.#identity(ctx);
    const found = await fromStore(ctx, target, 'get', () => target.store.get(key));
    if (!found) return undefined;
    const record = found.value;
    // No record: the session layer answers 404 itself, as for any unknown session.
    if (record === undefined || matches(identity, record)) return true;
    target.metrics.refused('authorization');
    return false;
  }

  /**
   * A websocket upgrade: always a new session. `key` is the session id of its URL (none for
   * the raw websocket): a URL whose session belongs to another identity is refused with 404,
   * as HTTP requests for it are.
   */
  async forWebsocket(ctx: Context, key: string | undefined, target: GateTarget): Promise<Admission | undefined> {
    if (target.draining) return refuseDraining(ctx, target);
    if (!this.#looksUp) return { data: snapshotState(ctx) };
    if (key !== undefined && this.#identity) {
      const found = await fromStore(ctx, target, 'get', () => target.store.get(key));
      if (!found) return undefined;
      const record = found.value;
      if (record && !(await this.#sameIdentity(ctx, record))) {
        target.metrics.refused('authorization');
        respondNoSession(ctx);
        return undefined;
      }
    }
    return this.#admitNew(ctx, target);
  }

  async #sameIdentity(ctx: Context, record: SessionRecord): Promise<boolean> {
    return !this.#identity || matches(await this.#identity(ctx), record);
  }

  /**
   * A new session: limits, the `use` chain, the identity function. Refused while the route
   * drains, before all this and again after it: `close()` may have come while they were asked,
   * and a session opened now would miss the shutdown (created after it closed every session, on
   * a closed store).
   */
  async #admitNew(ctx: Context, target: GateTarget): Promise<Admission | undefined> {
    if (target.draining) return refuseDraining(ctx, target);
    const admission = await this.#admitChecks(ctx, target);
    return admission && target.draining ? refuseDraining(ctx, target) : admission;
  }

  async #admitChecks(ctx: Context, target: GateTarget): Promise<Admission | undefined> {
    if (this.#limits) {
      const refusal = await consumeNewSession(this.#limits, ctx);
      if (refusal) {
        log('%s %s refused: %s', ctx.method, redactForLog(ctx.path), refusal.reason);
        target.metrics.refused('limit');
        if (refusal.retryAfter !== undefined) ctx.set('Retry-After', String(refusal.retryAfter));
        respondText(ctx, 429, 'Too many new sessions.');
        return undefined;
      }
      // Counted, never made room for: a full route refuses the newcomer and keeps everyone else.
      if (this.#limits.maxSessions !== Infinity) {
        const counted = await fromStore(ctx, target, 'count', () => target.store.count());
        if (!counted) return undefined;
        const count = counted.value;
        // No await between this test and the reservation: concurrent requests see each other.
        if (count + this.#admitting >= this.#limits.maxSessions) {
          log('%s %s refused: the route holds its maximum of %d sessions', ctx.method, redactForLog(ctx.path), this.#limits.maxSessions);
          target.metrics.refused('limit');
          respondText(ctx, 429, 'Too many new sessions.');
          return undefined;
        }
        this.#admitting++;
        this.#reserved.add(ctx);
      }
    }
    if (this.#authorize && !(await this.#runUse(ctx))) {
      target.metrics.refused('authorization');
      return undefined;
    }
    let identity: string | undefined;
    if (this.#identity) {
      const found = await this.#identity(ctx);
      if (typeof found !== 'string' || found === '') {
        log('%s %s refused: the identity function found nobody', ctx.method, redactForLog(ctx.path));
        target.metrics.refused('authorization');
        respondText(ctx, 403, 'Forbidden.');
        return undefined;
      }
      identity = identityDigest(found);
    }
    return identity === undefined ? { data: snapshotState(ctx) } : { identity, data: snapshotState(ctx) };
  }

  /**
   * Runs the `use` chain. True when it reached its end (every middleware called next()); false
   * when one threw a 4xx (answered with that status) or answered by itself without calling next().
   * Other errors propagate: Koa answers 500 and emits them on the app.
   */
  async #runUse(ctx: Context): Promise<boolean> {
    let reached = false;
    try {
      await this.#authorize!(ctx, async () => {
        reached = true;
      });
    } catch (error) {
      if (!isClientError(error)) throw error;
      log('%s %s refused by the use middleware: %d %s', ctx.method, redactForLog(ctx.path), error.status, error.message);
      if (error.headers) ctx.set(error.headers);
      respondText(ctx, error.status, error.expose === false ? 'Refused.' : error.message);
      return false;
    }
    if (!reached) log('%s %s refused: a use middleware did not call next() (answered %d)', ctx.method, redactForLog(ctx.path), ctx.status);
    return reached;
  }
}
