/**
 * `/iframe.html` and `/iframe-<version>.html`: the page transports without CORS load in a hidden
 * iframe on the server's origin. The same page answers every version (protocol suite:
 * IframePage.test_versionedUrl), strongly cacheable, with an ETag that changes only with the page.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { keepAliveWithoutBody, setCacheForever } from '../http/headers.js';
import { respondMethodNotAllowed } from '../http/raw.js';
import { iframePage } from '../transports/shared/framing.js';

/** `iframe.html`, or `iframe-` followed by anything but a slash (protocol suite: test_invalidUrl). */
export const IFRAME_PATH = /^\/iframe(?:-[^/]*)?\.html$/;

export interface IframeEndpoint {
  readonly body: string;
  readonly etag: string;
  handle(ctx: Context): void;
}

/**
 * Builds the page once per route; `sockjsUrl` is the client script it loads, `frameAncestors`
 * the CSP directive naming the pages that may frame it (from the `origins` option): the iframe
 * page talks to the server for whichever page embeds it, so it must not be embeddable by others.
 */
export function iframeEndpoint(sockjsUrl: string, frameAncestors: string): IframeEndpoint {
  const body = iframePage(sockjsUrl);
  // The policy is part of what a cache keeps: a new `origins` list must not be answered 304.
  const etag = `"${createHash('md5').update(body).update(frameAncestors).digest('hex')}"`;
  return {
    body,
    etag,
    handle(ctx) {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        respondMethodNotAllowed(ctx, ['GET', 'HEAD']);
        return;
      }
      setCacheForever(ctx);
      ctx.set('Content-Security-Policy', frameAncestors);
      ctx.set('ETag', etag);
      if (matchesEtag(ctx.get('If-None-Match'), etag)) {
        // 304 without Content-Type or body (protocol suite: test_cacheability): Koa strips both.
        ctx.status = 304;
        keepAliveWithoutBody(ctx);
        return;
      }
      ctx.type = 'text/html; charset=UTF-8';
      ctx.body = body;
    },
  };
}

/** `If-None-Match` may list several tags, or be `*` (RFC 9110, 13.1.2). */
function matchesEtag(header: string, etag: string): boolean {
  if (header === '') return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed === etag || trimmed === `W/${etag}`;
  });
}
