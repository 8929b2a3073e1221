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
  /** The request URL (path and query). */
  readonly url: string;
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
  constructor(readonly ctx: Context) {}

  get remoteAddress(): string {
    return this.ctx.ip;
  }

  get headers(): Readonly<Record<string, string>> {
    return pickSafeHeaders(this.ctx.headers);
  }

  get url(): string {
    return this.ctx.url;
  }
}
