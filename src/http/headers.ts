/** Response headers the protocol asks for: caching, CORS, JSESSIONID. */
import type { Context } from 'koa';

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

/** Private data fetched with GET must never be cached (protocol: verify_not_cached). */
export function setNoCache(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store, no-cache, must-revalidate, max-age=0');
}

/** Strongly cacheable: one year (protocol: OPTIONS responses and the iframe page). */
export function setCacheForever(ctx: Context): void {
  ctx.set('Cache-Control', `public, max-age=${ONE_YEAR_SECONDS}`);
  ctx.set('Expires', new Date(Date.now() + ONE_YEAR_SECONDS * 1000).toUTCString());
}

/**
 * CORS for XHR transports: echo the Origin (a `null` origin, from file:// pages, gets `*`,
 * which is the only value browsers accept there), allow credentials so JSESSIONID flows, and
 * echo requested headers.
 */
export function setCors(ctx: Context): void {
  const origin = ctx.get('Origin');
  ctx.set('Access-Control-Allow-Origin', origin && origin !== 'null' ? origin : '*');
  ctx.set('Access-Control-Allow-Credentials', 'true');
  const requested = ctx.get('Access-Control-Request-Headers');
  if (requested) ctx.set('Access-Control-Allow-Headers', requested);
  if (origin && origin !== 'null') ctx.vary('Origin');
}

/** Answers a CORS preflight: 204, cacheable for a year. */
export function answerPreflight(ctx: Context, methods: readonly string[], cors: boolean): void {
  ctx.status = 204;
  setCacheForever(ctx);
  ctx.set('Access-Control-Max-Age', String(ONE_YEAR_SECONDS));
  ctx.set('Access-Control-Allow-Methods', ['OPTIONS', ...methods].join(', '));
  if (cors) setCors(ctx);
}

/** The `jsessionid` option: false, true (echo or set a dummy cookie), or a function. */
export type JsessionidOption = boolean | ((ctx: Context) => void);

/**
 * Sets JSESSIONID so load balancers that key stickiness on it keep a client on one server.
 * The client's own value is echoed back; otherwise a placeholder (protocol: `dummy`).
 */
export function setJsessionid(ctx: Context, option: JsessionidOption): void {
  if (option === false) return;
  if (typeof option === 'function') {
    option(ctx);
    return;
  }
  const existing = ctx.cookies.get('JSESSIONID');
  const value = existing && /^[\w.-]+$/.test(existing) ? existing : 'dummy';
  ctx.set('Set-Cookie', `JSESSIONID=${value}; path=/`);
}
