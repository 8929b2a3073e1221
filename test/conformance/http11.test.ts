// Protocol suite: Http11.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawHttpConnection, sessionPart, startServer, type ConformanceServer } from './helpers.js';

describe('HTTP/1.1', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('test_synchronous: keep-alive, Content-Length or chunked, and a second request on the connection', async () => {
    const c = await RawHttpConnection.open(server.url + '/echo');
    const r = await c.request('GET', '/echo', { http: '1.1', headers: { Connection: 'Keep-Alive' } });
    assert.equal(r.httpVersion, '1.1');
    assert.ok(['keep-alive', ''].includes((r.headers['connection'] ?? '').toLowerCase()), "Your server doesn't support connection:Keep-Alive");
    if (r.headers['content-length']) {
      assert.equal(Number(r.headers['content-length']), 19);
      assert.equal((await c.read(19)).toString(), 'Welcome to SockJS!\n');
      assert.equal(r.headers['transfer-encoding'], undefined);
    } else {
      assert.equal(r.headers['transfer-encoding']!.toLowerCase(), 'chunked');
      assert.equal(await c.readChunk(), 'Welcome to SockJS!\n');
      assert.equal(await c.readChunk(), '');
    }
    const again = await c.request('GET', '/echo', { http: '1.1', headers: { Connection: 'Keep-Alive' } });
    assert.equal(again.status, 200);
    c.close();
  });

  it('test_streaming: chunked, one chunk per frame, then the last chunk', async () => {
    const url = server.url + '/close' + sessionPart();
    const c = await RawHttpConnection.open(url);
    const r = await c.request('POST', new URL(url).pathname + '/xhr_streaming', { http: '1.1', headers: { Connection: 'Keep-Alive' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['transfer-encoding']!.toLowerCase(), 'chunked');
    assert.equal(r.headers['content-length'], undefined);
    assert.equal((await c.readChunk())[0], 'h');
    assert.equal(await c.readChunk(), 'o\n');
    assert.equal(await c.readChunk(), 'c[3000,"Go away!"]\n');
    assert.equal(await c.readChunk(), '');
    c.close();
  });

  it('the connection stays usable after a streaming response ended', async () => {
    const url = server.url + '/close' + sessionPart();
    const path = new URL(url).pathname;
    const c = await RawHttpConnection.open(url);
    await c.request('POST', path + '/xhr_streaming', { headers: { 'Content-Length': '0' } });
    for (;;) if ((await c.readChunk()) === '') break;
    const r = await c.request('POST', path + '/xhr', { headers: { 'Content-Length': '0' } });
    assert.equal(r.status, 200);
    assert.equal((await c.read(Number(r.headers['content-length']))).toString(), 'c[3000,"Go away!"]\n');
    c.close();
  });
});
