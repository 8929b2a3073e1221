/**
 * Flood limits (the `limits` option): how many sessions one client may open per time window,
 * and how many sessions a route holds at most. Checked before a session is created, never
 * after: an existing session is never closed or evicted to make room for a new one.
 *
 * The per-client window is a rate-limiter-flexible limiter: RateLimiterMemory counts per
 * process, RateLimiterRedis (or any other of its back-ends) counts across a cluster.
 */
import type { Context } from 'koa';
import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { SockjsOptionError } from '../errors.js';
import { describeValue } from '../util/describe-value.js';
import { rejectUnknownKeys } from '../util/option-keys.js';

/** The part of a rate-limiter-flexible limiter the route uses. */
export type SessionRateLimiter = Pick<RateLimiterAbstract, 'consume'>;

/** The `limits` option: bounds on what one client, and all of them, may hold. All optional. */
export interface FloodLimits {
  /**
   * New sessions one client may open per window: `{ points, duration }` (sessions, seconds) for
   * an in-process RateLimiterMemory, or a rate-limiter-flexible limiter of your own, e.g.
   * `new RateLimiterRedis({ storeClient, points: 20, duration: 60, keyPrefix: 'sockjs' })` so the
   * limit holds across processes. Over it: 429 with `Retry-After`, or a refused upgrade.
   * @default no limit
   */
  newSessions?:
    | SessionRateLimiter
    | {
        /** New sessions allowed per window. */
        points: number;
        /** The window, in seconds. */
        duration: number;
      } | undefined;
  /**
   * Who "one client" is for `newSessions`. @default the client address, `ctx.ip` (which honours
   * `app.proxy` and X-Forwarded-For; never the port)
   */
  key?: ((ctx: Context) => string | Promise<string>) | undefined;
  /**
   * Sessions the route's store may hold, counted across every process that shares it
   * (`store.count()`, which includes sessions that closed moments ago). A new session beyond it
   * gets 429 or a refused upgrade. Requests arriving together at one process are counted
   * together (one admitted but still in `use` or its handshake holds its room); concurrent
   * creations on different processes may pass the count together, so on a shared store allow
   * for as many as arrive at once across them. @default no limit
   */
  maxSessions?: number | undefined;
}

const LIMITS_KEYS = { newSessions: true, key: true, maxSessions: true } as const satisfies Record<keyof FloodLimits, true>;

export interface ResolvedLimits {
  readonly limiter: SessionRateLimiter | undefined;
  readonly key: (ctx: Context) => string | Promise<string>;
  readonly maxSessions: number;
}

function clientAddress(ctx: Context): string {
  return ctx.ip;
}

export function resolveLimits(limits: FloodLimits | undefined): ResolvedLimits | undefined {
  if (limits === undefined) return undefined;
  if (typeof limits !== 'object' || limits === null) throw new SockjsOptionError('limits', 'must be an object { newSessions?, key?, maxSessions? }');
  rejectUnknownKeys(limits, LIMITS_KEYS, 'limits', { path: 'limits.' });
  let limiter: SessionRateLimiter | undefined;
  const { newSessions } = limits;
  if (newSessions !== undefined) {
    if (typeof (newSessions as SessionRateLimiter).consume === 'function') limiter = newSessions as SessionRateLimiter;
    else {
      const { points, duration } = newSessions as { points: unknown; duration: unknown };
      if (!Number.isInteger(points) || (points as number) <= 0 || typeof duration !== 'number' || !(duration > 0)) {
        throw new SockjsOptionError('limits.newSessions', 'must be { points, duration } (a positive integer of sessions per a positive number of seconds) or a rate-limiter-flexible limiter');
      }
      limiter = new RateLimiterMemory({ points: points as number, duration, keyPrefix: 'koa-sockjs' });
    }
  }
  if (limits.key !== undefined && typeof limits.key !== 'function') throw new SockjsOptionError('limits.key', 'must be a function (ctx) => string');
  const maxSessions = limits.maxSessions ?? Infinity;
  if (maxSessions !== Infinity && (!Number.isInteger(maxSessions) || maxSessions <= 0)) {
    throw new SockjsOptionError('limits.maxSessions', `must be a positive integer, got ${describeValue(maxSessions)}`);
  }
  return { limiter, key: limits.key ?? clientAddress, maxSessions };
}

/** Why a new session was refused, or undefined when the limits allow it. */
export interface LimitRefusal {
  readonly reason: string;
  /** Seconds until the client may try again (for Retry-After). */
  readonly retryAfter?: number | undefined;
}

/**
 * Takes one new session from the client's allowance. A limiter that fails (Redis unreachable)
 * throws: the request fails with 500 rather than pass unlimited.
 */
export async function consumeNewSession(limits: ResolvedLimits, ctx: Context): Promise<LimitRefusal | undefined> {
  if (!limits.limiter) return undefined;
  const key = await limits.key(ctx);
  try {
    await limits.limiter.consume(key);
    return undefined;
  } catch (rejection) {
    // rate-limiter-flexible rejects with a RateLimiterRes when over the limit, with an Error when
    // its back-end failed (duck-typed: the limiter may come from another copy of the package).
    if (!(rejection instanceof Error) && typeof (rejection as { msBeforeNext?: unknown } | undefined)?.msBeforeNext === 'number') {
      const ms = (rejection as { msBeforeNext: number }).msBeforeNext;
      return { reason: `too many new sessions from ${key}`, retryAfter: Math.max(1, Math.ceil(ms / 1000)) };
    }
    throw rejection;
  }
}
