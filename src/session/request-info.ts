/** What a session may know of the client, taken from the request that opened it. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from 'koa';

/**
 * What a session may know of the client, from the request that opened it: `session.remoteAddress`,
 * `session.headers` and `session.url` come from here.
 */
export interface RequestInfo {
  /** Client address; honours Koa's `app.proxy` (X-Forwarded-For) like `ctx.ip`. */
  readonly remoteAddress: string;
  /** A safe subset of the request headers: never `cookie` or `authorization`. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The request URL (path and query), with the client's session id replaced by `*`: that id
   * lets anyone who knows it send and receive on the session, so it is never exposed. Only that
   * path segment changes: the prefix, server id, transport and query stay as they came.
   */
  readonly url: string;
}

/** Request details of a session adopted without a request of its own (after its owner died). */
export const NO_REQUEST: RequestInfo = { remoteAddress: '', headers: {}, url: '' };

/** Stands for the client's session id in {@link RequestInfo.url}. */
export const REDACTED_SESSION_ID = '*';

/** The last segments of a session URL: `/<server>/<session>/<transport>`, then the query or the end. */
const SESSION_URL_TAIL = /\/([^/.?]+)\/[^/.?]+\/(xhr|xhr_send|xhr_streaming|eventsource|htmlfile|jsonp|jsonp_send|websocket)(?=\?|$)/;

/**
 * A request URL or path for a debug log, with whatever could be a client's session id
 * replaced by `*`. Unlike redactSessionUrl it does not know whether `url` is a session URL, so
 * it may also hide a prefix segment (`/a/b/websocket` reads `/a/*\/websocket`): harmless in a log.
 */
export function redactForLog(url: string): string {
  return url.replace(SESSION_URL_TAIL, `/$1/${REDACTED_SESSION_ID}/$2`);
}

/**
 * `url` with its session id segment replaced. `url` is a session URL as the route matched it:
 * its path ends in `/<server>/<session>/<transport>`.
 */
export function redactSessionUrl(url: string): string {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const transport = path.lastIndexOf('/');
  const session = path.lastIndexOf('/', transport - 1);
  if (session < 0) return url;
  // Joined rather than concatenated: the result is one flat string, where `+` would leave two
  // concatenation nodes over two slices of the request's URL, which a session keeps for life.
  return [path.slice(0, session + 1), REDACTED_SESSION_ID, url.slice(transport)].join('');
}

/**
 * Headers an application may see. Credentials (cookie, authorization) are left out on purpose:
 * a session outlives the request, and logging a session must not leak them.
 */
export const SAFE_HEADERS = [
  'referer',
  'x-client-ip',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-cluster-client-ip',
  'x-real-ip',
  'via',
  'host',
  'origin',
  'user-agent',
  'accept-language',
] as const;

export function pickSafeHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of SAFE_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string') picked[name] = value;
    else if (Array.isArray(value)) picked[name] = value.join(', ');
  }
  return picked;
}

/**
 * The RequestInfo of a Koa request, read only if a session is created from it: most requests
 * (polls and sends of existing sessions) never need the client address or the headers.
 */
export class ContextRequestInfo implements RequestInfo {
  /** `ctx` must be a request for a session URL (`/<server>/<session>/<transport>`). */
  constructor(readonly ctx: Context) {}

  get remoteAddress(): string {
    return this.ctx.ip;
  }

  get headers(): Readonly<Record<string, string>> {
    return pickSafeHeaders(this.ctx.headers);
  }

  get url(): string {
    return redactSessionUrl(this.ctx.url);
  }
}
