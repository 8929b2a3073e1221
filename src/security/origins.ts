/**
 * The `origins` option: which web pages may use a route.
 *
 * A browser sends cookies (and any other ambient credential) with every request a page makes,
 * whatever site the page is on; the `Origin` header says which site that is. So a route that
 * answers any Origin lets any site act as its visitors. This module decides, per request,
 * whether the page behind it is allowed, and says the same thing in the three places a browser
 * looks: CORS answers, `/info`'s `origins` field and the iframe page's `frame-ancestors`.
 *
 * The route's own origin (scheme and Host of the request, honouring `app.proxy`) is always
 * allowed: its pages are the server's own, the iframe page among them, whose requests for the
 * iframe-based transports come from there. Rules add pages of other origins (any match allows):
 * - `'self'`: the route's own origin; always allowed, so writing it only documents it.
 * - `'*'`: any Origin value except `null`: the check is off (what the protocol suites need).
 * - `'null'`: the opaque origin of file:// pages, sandboxed iframes and some WebViews. Never
 *   implied by another rule: any page can make itself opaque (a sandboxed iframe).
 * - `https://app.example.com`, `http://localhost:8080`: exactly that origin (a default port may
 *   be written or left out).
 * - `https://*.example.com`, `http://localhost:*`: `*` as the leftmost host label (any
 *   subdomain, at any depth, not the bare domain) or as the port. These are the wildcards a
 *   Content-Security-Policy source can carry, so the iframe page allows exactly the same pages.
 * - a function `(origin, ctx) => boolean | Promise<boolean>`: decides per request; it cannot be
 *   written into the iframe page's CSP nor listed in `/info`.
 */
import { domainToASCII } from 'node:url';
import type { Context } from 'koa';
import { SockjsOptionError } from '../errors.js';
import { logger } from '../log.js';
import { redactForLog } from '../session/request-info.js';

const log = logger('origins');

/** Decides about one origin (`null` included) for a request. */
export type OriginCheck = (origin: string, ctx: Context) => boolean | Promise<boolean>;

/** One entry of the `origins` option. */
export type OriginRule = string | OriginCheck;


const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443', ws: '80', wss: '443' };

/** `scheme://host[:port]`, host possibly `[v6]`; the port may be `*` in a rule. */
const ORIGIN_SYNTAX = /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[^/:?#@[\]\s*]+|\*(?:\.[^/:?#@[\]\s*]+)+)(?::(\d{1,5}|\*))?$/;

interface ParsedOrigin {
  readonly scheme: string;
  readonly host: string;
  /** '' for the scheme's default port, '*' for any (rules only). */
  readonly port: string;
}

/** Parses an origin or a rule; lower-cases it and drops a default port. Undefined if malformed. */
function parseOrigin(text: string): ParsedOrigin | undefined {
  const match = ORIGIN_SYNTAX.exec(text.toLowerCase());
  if (!match) return undefined;
  const scheme = match[1]!;
  let port = match[3] ?? '';
  if (port !== '' && port !== '*') {
    if (Number(port) > 65535) return undefined;
    port = String(Number(port));
    if (port === DEFAULT_PORTS[scheme]) port = '';
  }
  return { scheme, host: match[2]!, port };
}

/** A DNS name (letters, digits, `-`, `_`, dots) or an IPv4 address: all a rule's host may be. */
const RULE_HOST = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?$/;

/**
 * Parses a rule. Its host is converted to the ASCII (punycode) form browsers send in `Origin`
 * (a rule for `https://bücher.example` must match `https://xn--bcher-kva.example`), and must be
 * a plain host name: the rule is also written into the iframe page's Content-Security-Policy,
 * where `;` would start another directive, `,` another policy and `'` a keyword.
 */
function parseRule(text: string): ParsedOrigin | undefined {
  const parsed = parseOrigin(text);
  if (!parsed || parsed.host.startsWith('[')) return parsed;
  const wild = parsed.host.startsWith('*.');
  const ascii = domainToASCII(wild ? parsed.host.slice(2) : parsed.host);
  if (!RULE_HOST.test(ascii)) return undefined;
  return { ...parsed, host: wild ? `*.${ascii}` : ascii };
}

function serialize(origin: ParsedOrigin): string {
  return `${origin.scheme}://${origin.host}${origin.port ? `:${origin.port}` : ''}`;
}

/** `host:port`, the form of the `/info` `origins` field (sockjs-node answers `*:*`). */
function infoForm(origin: ParsedOrigin): string {
  const port = origin.port || DEFAULT_PORTS[origin.scheme] || '*';
  return `${origin.host}:${port}`;
}

interface Pattern {
  readonly scheme: string;
  /** The host after `*.` (so `.example.com`), or the exact host. */
  readonly hostSuffix: string | undefined;
  readonly host: string | undefined;
  /** '*' for any. */
  readonly port: string;
}

function matchesPattern(pattern: Pattern, origin: ParsedOrigin): boolean {
  if (pattern.scheme !== origin.scheme) return false;
  if (pattern.port !== '*' && pattern.port !== origin.port) return false;
  if (pattern.host !== undefined) return pattern.host === origin.host;
  return origin.host.endsWith(pattern.hostSuffix!) && origin.host.length > pattern.hostSuffix!.length;
}

/**
 * The origin of the page behind a request, or undefined when no page of another origin is
 * involved:
 * - the `Origin` header, which browsers send on every CORS request, form POST and websocket
 *   (`Sec-WebSocket-Origin` on hybi-07/08 websockets);
 *   except `Origin: null` with `Sec-Fetch-Site: same-origin`: a page of the route's own origin
 *   whose `Referrer-Policy` is `no-referrer` (helmet's default) posts forms (jsonp_send) with
 *   `Origin: null`, and the browser, not the page, vouches that it is same-origin (an opaque
 *   origin is never same-origin);
 * - else the origin of the `Referer`: a `<script>` GET (jsonp) carries no Origin;
 * - else `null` when `Sec-Fetch-Site` says the request comes from another site (a page that
 *   hid its Referer): an origin we cannot name is treated like an opaque one;
 * - else none: a program, or a browser navigating to the URL itself.
 */
export function requestOrigin(ctx: Context): string | undefined {
  // hybi-07 and hybi-08 (websocket drafts that browsers of 2011 spoke, still served here) named
  // the page in Sec-WebSocket-Origin; RFC 6455 renamed it Origin.
  const origin = ctx.get('Origin') || ctx.get('Sec-WebSocket-Origin');
  const site = ctx.get('Sec-Fetch-Site');
  if (origin) return origin === 'null' && site === 'same-origin' ? undefined : origin;
  const referer = ctx.get('Referer');
  if (referer) {
    try {
      return new URL(referer).origin;
    } catch {
      return 'null';
    }
  }
  if (site === 'cross-site' || site === 'same-site') return 'null';
  return undefined;
}

/** The resolved `origins` option of a route. */
export class OriginPolicy {
  readonly #any: boolean;
  readonly #null: boolean;
  readonly #exact = new Set<string>();
  readonly #patterns: Pattern[] = [];
  readonly #checks: OriginCheck[] = [];
  /** `/info` entries that do not depend on the request. */
  readonly #info: string[] = [];
  /** The `Content-Security-Policy` of the iframe page. */
  readonly frameAncestors: string;

  constructor(rules: readonly OriginRule[]) {
    if (!Array.isArray(rules)) throw new SockjsOptionError('origins', 'must be an array of origins, patterns and functions');
    const sources: string[] = ["'self'"];
    let any = false;
    let allowNull = false;
    for (const rule of rules) {
      if (typeof rule === 'function') {
        this.#checks.push(rule);
        continue;
      }
      if (typeof rule !== 'string') throw new SockjsOptionError('origins', `has an entry that is neither a string nor a function: ${String(rule)}`);
      if (rule === 'self') {
        continue;
      } else if (rule === '*') {
        any = true;
        sources.push('*');
        this.#info.push('*:*');
      } else if (rule === 'null') {
        allowNull = true;
      } else {
        const parsed = parseRule(rule);
        if (!parsed) {
          throw new SockjsOptionError(
            'origins',
            `has ${JSON.stringify(rule)}, which is not an origin: write scheme://host[:port] ("https://app.example.com"), with "*" only as the leftmost host label ("https://*.example.com") or the port ("http://localhost:*"), or 'self', '*', 'null'`,
          );
        }
        sources.push(serialize(parsed));
        this.#info.push(infoForm(parsed));
        if (!parsed.host.startsWith('*.') && parsed.port !== '*') this.#exact.add(serialize(parsed));
        else {
          const wildHost = parsed.host.startsWith('*.');
          this.#patterns.push({
            scheme: parsed.scheme,
            hostSuffix: wildHost ? parsed.host.slice(1) : undefined,
            host: wildHost ? undefined : parsed.host,
            port: parsed.port,
          });
        }
      }
    }
    this.#any = any;
    this.#null = allowNull;
    this.frameAncestors = `frame-ancestors ${[...new Set(sources)].join(' ')}`;
  }

  /** The route's own origin: how a browser would name a page served by this request's Host. */
  static selfOrigin(ctx: Context): string {
    const parsed = parseOrigin(`${ctx.protocol}://${ctx.host}`);
    return parsed ? serialize(parsed) : `${ctx.protocol}://${ctx.host}`;
  }

  /** The `/info` `origins` field: the listed rules in `host:port` form. */
  infoOrigins(ctx: Context): string[] {
    // `*:*` says it all (and is what the protocol suites expect of an open server).
    if (this.#any) return ['*:*'];
    const self = parseOrigin(OriginPolicy.selfOrigin(ctx));
    return self ? [infoForm(self), ...this.#info] : [...this.#info];
  }

  /**
   * Whether the page behind this request may use the route (true when no page is involved).
   * `pageElement`: the request comes from a `<script>`, `<iframe>` or `<form>` of a page (jsonp,
   * htmlfile). Browsers without Fetch Metadata (Safari before 16.4, Firefox before 90) send
   * such a request from a page with `Referrer-Policy: no-referrer` with no header naming that
   * page — a cross-site page could then open a session with the visitor's cookies and read it
   * through jsonp. So a page-element request that carries cookies yet names no page counts as
   * an unknown page: allowed only where any page (`'*'`) or opaque ones (`'null'`) are. (Without
   * cookies such a request carries nothing of the visitor's: programs send those.) Refusals
   * are logged (DEBUG=koa-sockjs:origins).
   */
  async allows(ctx: Context, pageElement = false): Promise<boolean> {
    const origin = requestOrigin(ctx);
    if (origin === undefined) {
      if (!pageElement || !ctx.get('Cookie') || ctx.get('Sec-Fetch-Site') || this.#any || this.#null) return true;
      log('refused %s %s: a request with cookies from a page element that names no page (no Origin, Referer or Sec-Fetch-Site); allowed only with origins \'*\' or \'null\'', ctx.method, redactForLog(ctx.path));
      return false;
    }
    if (await this.#decide(origin, ctx)) return true;
    log(
      'refused origin %s for %s %s (Sec-Fetch-Site: %s); allowed: %s; %s',
      origin,
      ctx.method,
      redactForLog(ctx.path),
      ctx.get('Sec-Fetch-Site') || 'none',
      this.#describe(ctx),
      this.#hint(origin, ctx),
    );
    return false;
  }

  async #decide(origin: string, ctx: Context): Promise<boolean> {
    if (origin === 'null') {
      if (this.#null) return true;
    } else {
      // `*` turns the check off for every value (the protocol suites send `Origin: test`).
      if (this.#any) return true;
      const parsed = parseOrigin(origin);
      // Not an origin (a list, a path, a `*`): nothing a browser sends.
      if (!parsed || parsed.port === '*' || parsed.host.includes('*')) return false;
      const normalized = serialize(parsed);
      if (normalized === OriginPolicy.selfOrigin(ctx)) return true;
      if (this.#exact.has(normalized)) return true;
      if (this.#patterns.some((pattern) => matchesPattern(pattern, parsed))) return true;
    }
    for (const check of this.#checks) if ((await check(origin, ctx)) === true) return true;
    return false;
  }

  #describe(ctx: Context): string {
    const parts = this.infoOrigins(ctx);
    if (this.#null) parts.push('null');
    if (this.#checks.length) parts.push(`${this.#checks.length} function(s)`);
    return parts.join(', ') || 'none';
  }

  /** What to change, said so that the reader knows which setting (the log is where they look). */
  #hint(origin: string, ctx: Context): string {
    // The page is on this very host over https while the request arrived as http: a TLS proxy
    // in front that Koa does not trust yet, not a missing rule.
    const parsed = origin === 'null' ? undefined : parseOrigin(origin);
    if (parsed?.scheme === 'https' && ctx.protocol === 'http' && !ctx.app.proxy && parsed.host === ctx.hostname.toLowerCase()) {
      return 'behind a TLS proxy? set app.proxy = true';
    }
    return origin === 'null' ? "to allow opaque pages (file://, sandboxed iframes) add 'null' to the origins option" : 'to allow this page, add it to the origins option';
  }
}
