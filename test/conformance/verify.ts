/** The protocol suite's shared checks (Test.verify405, verify_options, verify_cors, ...). */
import assert from 'node:assert/strict';
import { OPTIONS, type HttpResult } from './helpers.js';

export function verify404(r: HttpResult, what = ''): void {
  assert.equal(r.status, 404, what);
}

/** 405 with an Allow header, and neither Content-Type nor body. */
export function verify405(r: HttpResult, what = ''): void {
  assert.equal(r.status, 405, what);
  assert.equal(r.headers['content-type'], undefined, what);
  assert.ok(r.headers['allow'], what);
  assert.equal(r.body, '', what);
}

export function verifyContentType(r: HttpResult, contentType: string): void {
  assert.equal(r.headers['content-type']?.replace(/ /g, ''), contentType);
}

export function verifyNoCookie(r: HttpResult): void {
  assert.equal(r.headers['set-cookie'], undefined);
}

/** An Origin (`null` too) is echoed with credentials; no Origin gets `*` without them. */
export function verifyCors(r: { headers: Record<string, string | undefined> }, origin?: string): void {
  if (origin) {
    assert.equal(r.headers['access-control-allow-origin'], origin);
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
  } else {
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
  }
}

export function verifyNotCached(r: { headers: Record<string, string | undefined> }): void {
  assert.equal(r.headers['cache-control'], 'no-store, no-cache, no-transform, must-revalidate, max-age=0');
  assert.equal(r.headers['expires'], undefined);
  assert.equal(r.headers['last-modified'], undefined);
}

/** OPTIONS from no origin, `test` and `null`: 204, cacheable for a year, CORS, no body. */
export async function verifyOptions(url: string, allowedMethods: string): Promise<void> {
  for (const origin of [undefined, 'test', 'null']) {
    const r = await OPTIONS(url, origin ? { headers: { Origin: origin } } : {});
    assert.equal(r.status, 204);
    assert.match(r.headers['cache-control']!, /public/);
    assert.match(r.headers['cache-control']!, /max-age=[1-9][0-9]{6}/, 'max-age must be large, one year (31536000) is best');
    assert.ok(r.headers['expires']);
    assert.ok(Number(r.headers['access-control-max-age']) > 1000000);
    assert.equal(r.headers['access-control-allow-methods'], allowedMethods);
    assert.equal(r.body, '');
    verifyCors(r, origin);
  }
}

/** The cookie the suite expects: `JSESSIONID=<value>; path=/`. */
export function verifyCookie(r: { headers: Record<string, string | undefined> }, value = 'dummy'): void {
  const cookie = r.headers['set-cookie'];
  assert.ok(cookie, 'Set-Cookie expected');
  const [first, second] = cookie.split(';');
  assert.equal(first!.trim(), `JSESSIONID=${value}`);
  assert.equal(second!.toLowerCase().trim(), 'path=/');
}
