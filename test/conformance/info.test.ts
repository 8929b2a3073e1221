// Protocol suite: InfoTest.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GET, OPTIONS, startServer, type ConformanceServer } from './helpers.js';
import { verifyCors, verifyNoCookie, verifyNotCached, verifyOptions } from './verify.js';

describe('info: <base_url>/info', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  it('test_basic', async () => {
    const r = await GET(base + '/info', { headers: { Origin: 'test' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type']!.replace(/ /g, ''), 'application/json;charset=UTF-8');
    verifyNoCookie(r);
    verifyNotCached(r);
    verifyCors(r, 'test');
    const data = JSON.parse(r.body) as Record<string, unknown>;
    assert.equal(data['websocket'], true);
    assert.ok(data['cookie_needed'] === true || data['cookie_needed'] === false);
    assert.deepEqual(data['origins'], ['*:*']);
    assert.ok(Number.isInteger(data['entropy']));
  });

  it('test_entropy: a 32-bit random number that differs between calls', async () => {
    const d1 = JSON.parse((await GET(base + '/info')).body) as { entropy: number };
    const d2 = JSON.parse((await GET(base + '/info')).body) as { entropy: number };
    for (const { entropy } of [d1, d2]) assert.ok(Number.isInteger(entropy) && entropy >= 0 && entropy <= 2 ** 32 - 1);
    assert.notEqual(d1.entropy, d2.entropy);
  });

  it('test_options', async () => {
    await verifyOptions(base + '/info', 'OPTIONS, GET');
  });

  it('test_options_null_origin', async () => {
    const r = await OPTIONS(base + '/info', { headers: { Origin: 'null', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(r.status, 204);
    assert.equal(r.body, '');
    assert.equal(r.headers['access-control-allow-origin'], 'null');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
  });

  it('test_disabled_websocket', async () => {
    const r = await GET(server.url + '/disabled_websocket_echo/info');
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { websocket: boolean }).websocket, false);
  });

  it('echoes the Origin on GET; without one, * and no credentials', async () => {
    verifyCors(await GET(base + '/info', { headers: { Origin: 'http://example.com' } }), 'http://example.com');
    verifyCors(await GET(base + '/info', { headers: { Origin: 'null' } }), 'null');
    verifyCors(await GET(base + '/info'));
  });
});
