// sockjs-protocol's http-quirks.py (the empty-POST quirk), and other odd but legal requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawHttpConnection, sessionPart, startServer, type ConformanceServer } from './helpers.js';

describe('HTTP quirks', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('test_emptyContentLengthForPost: a POST without Content-Length opens the session', async () => {
    const url = server.url + '/echo' + sessionPart();
    const c = await RawHttpConnection.open(url);
    const r = await c.request('POST', new URL(url).pathname + '/xhr');
    assert.equal(r.status, 200);
    assert.equal((await c.read(Number(r.headers['content-length']))).toString(), 'o\n');
    c.close();
  });

  it('an xhr_send without Content-Length is "Payload expected."', async () => {
    const url = server.url + '/echo' + sessionPart();
    const path = new URL(url).pathname;
    const c = await RawHttpConnection.open(url);
    await c.request('POST', path + '/xhr');
    await c.read(2);
    const r = await c.request('POST', path + '/xhr_send');
    assert.equal(r.status, 500);
    assert.match((await c.read(Number(r.headers['content-length']))).toString(), /Payload expected\./);
    c.close();
  });

  it('a chunked xhr_send body is read whole', async () => {
    const url = server.url + '/echo' + sessionPart();
    const path = new URL(url).pathname;
    const c = await RawHttpConnection.open(url);
    await c.request('POST', path + '/xhr');
    await c.read(2);
    c.write(`POST ${path}/xhr_send HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n["a\r\n2\r\n"]\r\n0\r\n\r\n`);
    assert.equal((await c.readHead()).status, 204);
    const r = await c.request('POST', path + '/xhr', { headers: { 'Content-Length': '0' } });
    assert.equal((await c.read(Number(r.headers['content-length']))).toString(), 'a["a"]\n');
    c.close();
  });
});
