/** Response headers the protocol asks for: caching, CORS, JSESSIONID. */
import type { Context } from 'koa';

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

/**
 * Private data fetched with GET must never be cached, and no proxy may transform it: a
 * compressing proxy or CDN would buffer the newline-delimited frames of a stream until it has a
 * block worth compressing (protocol: verify_not_cached, `no-transform` since sockjs-protocol
 * pull request 93; RFC 9111, 5.2.2.6).
 */
export function setNoCache(ctx: Context): void {
  // Straight on the response (what ctx.set does, less Koa's delegation): every poll and send
  // sets these, so it shows in the per-message profile.
  ctx.res.setHeader('Cache-Control', 'no-store, no-cache, no-transform, must-revalidate, max-age=0');
}

/**
 * Streaming responses (xhr_streaming, eventsource, htmlfile) must reach the client frame by
 * frame. nginx buffers proxied responses by default (`proxy_buffering on`) and passes a stream
 * on only when a buffer fills or the response ends, which stalls every frame behind it;
 * `X-Accel-Buffering: no` turns that off for this one response, with no nginx configuration.
 * Polling answers are complete when written, so buffering cannot hold them back.
 */
export function setNoBuffering(ctx: Context): void {
  ctx.set('X-Accel-Buffering', 'no');
}

/** Strongly cacheable: one year (protocol: OPTIONS responses and the iframe page). */
export function setCacheForever(ctx: Context): void {
  ctx.set('Cache-Control', `public, max-age=${ONE_YEAR_SECONDS}`);
  ctx.set('Expires', new Date(Date.now() + ONE_YEAR_SECONDS * 1000).toUTCString());
}

/** The CORS response headers for one request, before any allow-list decides about the origin. */
export interface CorsHeaders {
  'Access-Control-Allow-Origin': string;
  /** Present only with an echoed origin: browsers reject credentials alongside `*`. */
  'Access-Control-Allow-Credentials'?: 'true' | undefined;
  'Access-Control-Allow-Headers'?: string | undefined;
}

/**
 * The CORS headers for a request with this `Origin` and `Access-Control-Request-Headers`
 * (each `''` when absent). Pure, so each rule is unit-tested on its own.
 *
 * - Any Origin, `null` included, is echoed with `Allow-Credentials: true`: sockjs-client 1.x
 *   always sends credentials (for JSESSIONID), and the Fetch standard rejects a credentialed
 *   response whose `Allow-Origin` is `*`. A page from `file://`, a sandboxed iframe or some
 *   WebViews sends `Origin: null`; with `*` it cannot even fetch `/info` (sockjs-protocol,
 *   `verify_cors` and `test_options_null_origin` at the current head).
 * - No Origin (not a cross-origin browser request) gets `*` and no credentials header; so does
 *   the never-valid `Origin: *`, which echoed would pair `*` with credentials.
 * - Requested headers are echoed, so a client may send any header it needs.
 */
export function corsHeaders(origin: string, requestedHeaders: string): CorsHeaders {
  const headers: CorsHeaders = origin && origin !== '*'
    ? { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' }
    : { 'Access-Control-Allow-Origin': '*' };
  if (requestedHeaders) headers['Access-Control-Allow-Headers'] = requestedHeaders;
  return headers;
}

/**
 * Sets the CORS headers of {@link corsHeaders} on the response, and `Vary: Origin` in every
 * case: the answer depends on the Origin, and preflights are cacheable for a year, so a shared
 * cache must not hand the `*` answer to a request that has an Origin.
 */
export function setCors(ctx: Context): void {
  const { req, res } = ctx;
  const headers = corsHeaders(headerText(req.headers.origin), headerText(req.headers['access-control-request-headers']));
  res.setHeader('Access-Control-Allow-Origin', headers['Access-Control-Allow-Origin']);
  if (headers['Access-Control-Allow-Credentials'] !== undefined) res.setHeader('Access-Control-Allow-Credentials', headers['Access-Control-Allow-Credentials']);
  if (headers['Access-Control-Allow-Headers'] !== undefined) res.setHeader('Access-Control-Allow-Headers', headers['Access-Control-Allow-Headers']);
  // Every poll and send gets here. With no Vary yet (the usual case) what ctx.vary() would write
  // is just `Origin`: set it straight, without the vary package's parsing (~4 µs per polling
  // echo in the round-four profile); a Vary upstream middleware set is merged by ctx.vary().
  if (!res.hasHeader('Vary') && !res.headersSent) res.setHeader('Vary', 'Origin');
  else ctx.vary('Origin');
}

/** A request header as `ctx.get()` reads it: '' when absent. */
function headerText(value: string | string[] | undefined): string {
  return value === undefined ? '' : String(value);
}

/**
 * Keeps an HTTP/1.0 client's connection open after a response without a body (204, 304) when it
 * asked for that. Node keeps an HTTP/1.0 connection only for a response with a Content-Length,
 * which a 204 must not carry (RFC 9110, 8.6), so it answered those with `Connection: close`. A
 * response without a body needs no length to end, so keep-alive is safe to say. HTTP/1.1 needs
 * nothing: keep-alive is its default.
 */
export function keepAliveWithoutBody(ctx: Context): void {
  const { httpVersion, headers } = ctx.req;
  if (httpVersion === '1.0' && /(?:^|,)\s*keep-alive\s*(?:,|$)/i.test(headers.connection ?? '')) ctx.set('Connection', 'keep-alive');
}

/** Answers a CORS preflight: 204, cacheable for a year. */
export function answerPreflight(ctx: Context, methods: readonly string[], cors: boolean): void {
  ctx.status = 204;
  keepAliveWithoutBody(ctx);
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
  // Appended: cookies that middleware above set before `await next()` (a session) must stay.
  ctx.append('Set-Cookie', `JSESSIONID=${value}; path=/`);
}
