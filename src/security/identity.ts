/**
 * Binding sessions to the client that created them (the `identity` option).
 *
 * A session URL (`/<server>/<session>/...`) is all a client needs to poll, stream or send as a
 * session; URLs leak (logs, Referer, a shared screen). With `identity`, every request for an
 * existing session must come from the same identity as the request that created it, or it is
 * answered exactly like a request for a session that does not exist (404).
 *
 * The identity is derived from the request alone: a user id from the application's own
 * session cookie, a token, or the anonymous cookie below. Never from the client's port (or its
 * address alone): behind a proxy or a NAT both change or are shared (Spring 7.0.8 compared
 * ports and refused anonymous users behind proxies).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { DEFAULTS } from '../defaults.js';
import { SockjsOptionError } from '../errors.js';
import { rejectUnknownKeys } from '../util/option-keys.js';

/**
 * Who is behind a request: any non-empty string (a user id, `anon:<cookie>`). Undefined or
 * `''` means nobody: such a request creates no session and reaches none.
 */
export type IdentityFunction = (ctx: Context) => string | undefined | Promise<string | undefined>;

/**
 * What the store keeps of an identity: a SHA-256 digest, so a store dump never holds a user's
 * cookie or token, and every identity has the same size.
 */
export function identityDigest(identity: string): string {
  return createHash('sha256').update(identity).digest('base64url');
}

/** How the anonymous-identity cookie is set: all optional. */
export interface AnonymousCookieOptions {
  /** Cookie name. @default 'sockjs.anon' */
  name?: string | undefined;
  /**
   * `SameSite` of the cookie. `'lax'` suits a page on the same site as the SockJS server; a
   * page on another site needs `'none'` (and HTTPS), and even then browsers that block
   * third-party cookies will not send it. @default 'lax'
   */
  sameSite?: 'lax' | 'strict' | 'none' | undefined;
  /** Send only over HTTPS. @default true when the request is HTTPS (honouring app.proxy) */
  secure?: boolean | undefined;
  /** Lifetime in milliseconds; undefined makes a browser-session cookie. @default undefined */
  maxAge?: number | undefined;
}

const ANONYMOUS_COOKIE_KEYS = { name: true, sameSite: true, secure: true, maxAge: true } as const satisfies Record<keyof AnonymousCookieOptions, true>;

/** 128 random bits, base64url: what this module sets, and all it accepts back. */
const COOKIE_VALUE = /^[A-Za-z0-9_-]{22}$/;

/**
 * The built-in identity for anonymous users: a random, HttpOnly cookie, set on the first request
 * that has none. Every request of one browser carries it (sockjs-client sends credentials on
 * every transport), so a leaked session URL is useless in another browser. Combine it with a
 * user identity: `identity: (ctx) => ctx.session?.userId ? 'user:' + ctx.session.userId : anon(ctx)`.
 * @throws {@link SockjsOptionError} for an unknown option, naming it.
 */
export function anonymousCookie(options: AnonymousCookieOptions = {}): IdentityFunction {
  if (typeof options !== 'object' || options === null) throw new SockjsOptionError('options', 'of anonymousCookie() must be an object');
  rejectUnknownKeys(options, ANONYMOUS_COOKIE_KEYS, 'anonymousCookie()');
  const name = options.name ?? DEFAULTS.anonymousCookie.name;
  const sameSite = options.sameSite ?? DEFAULTS.anonymousCookie.sameSite;
  return function anonymousIdentity(ctx) {
    const existing = ctx.cookies.get(name);
    if (existing && COOKIE_VALUE.test(existing)) return `anon:${existing}`;
    const value = randomBytes(16).toString('base64url');
    ctx.cookies.set(name, value, {
      httpOnly: true,
      sameSite,
      secure: options.secure ?? ctx.secure,
      path: '/',
      overwrite: true,
      ...(options.maxAge !== undefined ? { maxAge: options.maxAge } : {}),
    });
    return `anon:${value}`;
  };
}
