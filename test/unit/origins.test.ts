// The `origins` rules of src/security/origins.ts, one per test, on real Koa contexts of
// synthetic requests (no server: the decision depends only on the request's headers).
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { format } from 'node:util';
import { describe, it } from 'node:test';
import createDebug from 'debug';
import Koa from 'koa';
import { SockjsOptionError } from '../../src/index.js';
import { OriginPolicy, requestOrigin, type OriginRule } from '../../src/security/origins.js';

function contextFor(headers: Record<string, string>, options: { proxy?: boolean; host?: string } = {}): Koa.Context {
  const app = new Koa();
  app.proxy = options.proxy ?? false;
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/s/info';
  req.headers = { host: options.host ?? 'app.example.com', ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) };
  return app.createContext(req, new ServerResponse(req));
}

async function allows(rules: readonly OriginRule[], origin: string | undefined, options?: { proxy?: boolean; host?: string; headers?: Record<string, string> }): Promise<boolean> {
  const headers = { ...(origin === undefined ? {} : { Origin: origin }), ...options?.headers };
  return new OriginPolicy(rules).allows(contextFor(headers, options));
}

describe('origins', () => {
  it("'self' allows the route's own origin only, scheme and port included", async () => {
    assert.equal(await allows(['self'], 'http://app.example.com'), true);
    assert.equal(await allows(['self'], 'http://app.example.com:80'), true);
    assert.equal(await allows(['self'], 'https://app.example.com'), false);
    assert.equal(await allows(['self'], 'http://app.example.com:8080'), false);
    assert.equal(await allows(['self'], 'http://evil.example.com'), false);
    assert.equal(await allows(['self'], 'http://app.example.com', { host: 'app.example.com:8080' }), false);
    assert.equal(await allows(['self'], 'http://app.example.com:8080', { host: 'app.example.com:8080' }), true);
  });

  it("'self' behind a TLS proxy: https origins match once app.proxy trusts X-Forwarded-Proto", async () => {
    const forwarded = { 'X-Forwarded-Proto': 'https' };
    assert.equal(await allows(['self'], 'https://app.example.com', { headers: forwarded }), false);
    assert.equal(await allows(['self'], 'https://app.example.com', { proxy: true, headers: forwarded }), true);
  });

  it('exact origins match case-insensitively, with or without the default port, and nothing else', async () => {
    const rules = ['https://App.Example.com', 'http://localhost:8080'];
    assert.equal(await allows(rules, 'https://app.example.com'), true);
    assert.equal(await allows(rules, 'https://app.example.com:443'), true);
    assert.equal(await allows(rules, 'http://app.example.com', { host: 'sockjs.example.net' }), false);
    assert.equal(await allows(rules, 'https://app.example.com.evil.com'), false);
    assert.equal(await allows(rules, 'https://evilapp.example.com'), false);
    assert.equal(await allows(rules, 'http://localhost:8080'), true);
    assert.equal(await allows(rules, 'http://localhost:8081'), false);
    assert.equal(await allows(rules, 'http://localhost'), false);
  });

  it('a * host label matches any subdomain, not the bare domain nor a lookalike', async () => {
    const rules = ['https://*.example.com'];
    assert.equal(await allows(rules, 'https://a.example.com'), true);
    assert.equal(await allows(rules, 'https://a.b.example.com'), true);
    assert.equal(await allows(rules, 'https://example.com'), false);
    assert.equal(await allows(rules, 'https://evilexample.com'), false);
    assert.equal(await allows(rules, 'https://a.example.com.evil.net'), false);
    assert.equal(await allows(rules, 'http://a.example.com'), false);
    assert.equal(await allows(rules, 'https://a.example.com:8443'), false);
  });

  it('a * port matches every port of that host', async () => {
    const rules = ['http://localhost:*'];
    assert.equal(await allows(rules, 'http://localhost'), true);
    assert.equal(await allows(rules, 'http://localhost:3000'), true);
    assert.equal(await allows(rules, 'http://127.0.0.1:3000'), false);
    assert.equal(await allows(rules, 'https://localhost:3000'), false);
  });

  it("Origin: null only when 'null' is listed; '*' does not imply it", async () => {
    assert.equal(await allows(['*'], 'null'), false);
    assert.equal(await allows(['self', 'https://*.example.com'], 'null'), false);
    assert.equal(await allows(['null'], 'null'), true);
    assert.equal(await allows(['*'], 'https://anything.test'), true);
  });

  it('functions decide what the strings do not, with the origin and the context', async () => {
    const seen: string[] = [];
    const rules: OriginRule[] = [
      'https://a.test',
      async (origin, ctx) => {
        seen.push(`${origin} ${ctx.path}`);
        return origin.endsWith('.partner.test');
      },
    ];
    assert.equal(await allows(rules, 'https://a.test'), true);
    assert.equal(await allows(rules, 'https://x.partner.test'), true);
    assert.equal(await allows(rules, 'https://x.other.test'), false);
    assert.equal(await allows(rules, 'null'), false);
    assert.deepEqual(seen, ['https://x.partner.test /s/info', 'https://x.other.test /s/info', 'null /s/info']);
  });

  it('refuses values no browser sends: lists, paths, wildcards', async () => {
    for (const origin of ['https://a.test, https://b.test', 'https://a.test/path', 'https://*.a.test', 'https://a.test:*', 'test']) {
      assert.equal(await allows(['https://a.test', 'https://*.a.test'], origin), false, origin);
    }
  });

  it('with no Origin: the Referer names the page (a <script> GET carries no Origin)', async () => {
    assert.equal(await allows(['https://a.test'], undefined, { headers: { Referer: 'https://a.test/chat?x=1' } }), true);
    assert.equal(await allows(['https://a.test'], undefined, { headers: { Referer: 'https://evil.test/' } }), false);
  });

  it('with neither Origin nor Referer: a cross-site fetch is an unnamed page (null); a program passes', async () => {
    assert.equal(await allows(['https://a.test'], undefined, { headers: { 'Sec-Fetch-Site': 'cross-site' } }), false);
    assert.equal(await allows(['https://a.test'], undefined, { headers: { 'Sec-Fetch-Site': 'same-site' } }), false);
    assert.equal(await allows(['https://a.test', 'null'], undefined, { headers: { 'Sec-Fetch-Site': 'cross-site' } }), true);
    assert.equal(await allows(['https://a.test'], undefined, { headers: { 'Sec-Fetch-Site': 'none' } }), true);
    assert.equal(await allows([], undefined), true);
    assert.equal(requestOrigin(contextFor({})), undefined);
  });

  it("Origin: null that the browser marks same-origin is the route's own page (a no-referrer form post)", async () => {
    assert.equal(await allows([], 'null', { headers: { 'Sec-Fetch-Site': 'same-origin' } }), true);
    assert.equal(await allows([], 'null', { headers: { 'Sec-Fetch-Site': 'cross-site' } }), false);
    assert.equal(await allows([], 'null', { headers: { 'Sec-Fetch-Site': 'same-site' } }), false);
  });

  it("the route's own origin is always allowed: an empty list allows it and no other page", async () => {
    assert.equal(await allows([], 'http://app.example.com'), true);
    assert.equal(await allows(['https://a.test'], 'http://app.example.com'), true);
    assert.equal(await allows([], 'http://other.example.com'), false);
    assert.equal(await allows([], 'null'), false);
    assert.equal(new OriginPolicy([]).frameAncestors, "frame-ancestors 'self'");
  });

  it('writes the list as frame-ancestors and as the /info host:port form', () => {
    const policy = new OriginPolicy(['self', 'https://app.example.com', 'http://localhost:*', 'https://*.example.com:8443', 'null', () => true]);
    assert.equal(policy.frameAncestors, "frame-ancestors 'self' https://app.example.com http://localhost:* https://*.example.com:8443");
    assert.deepEqual(policy.infoOrigins(contextFor({}, { host: 'sock.example.com:8080' })), [
      'sock.example.com:8080',
      'app.example.com:443',
      'localhost:*',
      '*.example.com:8443',
    ]);
    assert.deepEqual(new OriginPolicy(['*']).infoOrigins(contextFor({})), ['*:*']);
    assert.equal(new OriginPolicy(['*']).frameAncestors, "frame-ancestors 'self' *");
  });

  it('an internationalized host in a rule matches the punycode Origin browsers send', async () => {
    // A browser on https://bücher.example sends `Origin: https://xn--bcher-kva.example`.
    assert.equal(await allows(['https://bücher.example'], 'https://xn--bcher-kva.example'), true);
    assert.equal(await allows(['https://*.bücher.example'], 'https://shop.xn--bcher-kva.example'), true);
    assert.equal(new OriginPolicy(['https://bücher.example']).frameAncestors, "frame-ancestors 'self' https://xn--bcher-kva.example");
  });

  it('hybi-07/08 websocket clients name their page in Sec-WebSocket-Origin, not Origin', async () => {
    const hybi = (origin: string) => ({ headers: { 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Origin': origin } });
    assert.equal(await allows(['https://a.test'], undefined, hybi('https://evil.test')), false);
    assert.equal(await allows(['https://a.test'], undefined, hybi('https://a.test')), true);
  });

  it('a refusal is logged naming the origins option; the TLS proxy hint only where it can be the cause', async () => {
    const lines: string[] = [];
    const originalLog = createDebug.log;
    createDebug.enable('koa-sockjs:origins');
    createDebug.log = (...args: unknown[]) => void lines.push(format(...(args as [string, ...unknown[]])));
    try {
      // A page of another site: listing it is the fix; a proxy has nothing to do with it.
      assert.equal(await allows(['https://a.test'], 'http://localhost:3000'), false);
      // The route's own host over https while the request came as http: the proxy is the cause.
      assert.equal(await allows(['https://a.test'], 'https://app.example.com'), false);
    } finally {
      createDebug.disable();
      createDebug.log = originalLog;
    }
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /refused origin http:\/\/localhost:3000 .*add it to the origins option/);
    assert.doesNotMatch(lines[0]!, /app\.proxy/);
    assert.match(lines[1]!, /refused origin https:\/\/app\.example\.com .*set app\.proxy = true/);
  });

  it('refuses malformed rules at startup, naming the option', () => {
    for (const rule of ['app.example.com', 'https://app.*.com', 'https://a*.example.com', 'https://app.example.com/', 'https://app.example.com:99999', '']) {
      assert.throws(() => new OriginPolicy([rule]), (error: unknown) => error instanceof SockjsOptionError && error.option === 'origins', rule);
    }
    // Characters a host cannot hold would end up in the iframe page's Content-Security-Policy:
    // `;` starts another directive there, `,` another policy, `'` a keyword.
    for (const rule of ['https://a.test;report-uri', 'https://a.test,https', "https://'self'", 'https://*.a.test;sandbox', 'https://a.test;frame-ancestors']) {
      assert.throws(() => new OriginPolicy([rule]), (error: unknown) => error instanceof SockjsOptionError && error.option === 'origins', rule);
    }
    assert.throws(() => new OriginPolicy('https://a.test' as unknown as OriginRule[]), SockjsOptionError);
    assert.throws(() => new OriginPolicy([42 as unknown as OriginRule]), SockjsOptionError);
  });
});
