// Protocol suite: Http10.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GET, POST, RawHttpConnection, sessionPart, startServer, type ConformanceServer } from './helpers.js';

describe('HTTP/1.0', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('test_synchronous: no chunking; Content-Length with keep-alive, or Connection: close', async () => {
    const base = server.url + '/echo';
    const c = await RawHttpConnection.open(base);
    const r = await c.request('GET', '/echo', { http: '1.0', headers: { Connection: 'Keep-Alive' } });
    assert.equal(r.status, 200);
    assert.ok(['1.0', '1.1'].includes(r.httpVersion));
    assert.equal(r.headers['transfer-encoding'], undefined);
    if (!r.headers['content-length']) {
      assert.equal(r.headers['connection']!.toLowerCase(), 'close');
      assert.equal(await c.readToEnd(), 'Welcome to SockJS!\n');
    } else {
      assert.equal(Number(r.headers['content-length']), 19);
      assert.equal((await c.read(19)).toString(), 'Welcome to SockJS!\n');
      const connection = (r.headers['connection'] ?? '').toLowerCase();
      if (connection === 'close' || connection === '') {
        assert.ok(await c.closed());
      } else {
        assert.equal(connection, 'keep-alive');
        const again = await c.request('GET', '/echo', { http: '1.0', headers: { Connection: 'Keep-Alive' } });
        assert.equal(again.status, 200);
      }
    }
    c.close();
  });

  it('test_streaming: no Transfer-Encoding, no Content-Length, the response ends by closing', async () => {
    const url = server.url + '/close' + sessionPart();
    const c = await RawHttpConnection.open(url);
    const r = await c.request('POST', new URL(url).pathname + '/xhr_streaming', { http: '1.0', headers: { Connection: 'Keep-Alive' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['transfer-encoding'], undefined);
    assert.equal(r.headers['content-length'], undefined);
    assert.ok(!r.headers['connection'] || ['close', 'keep-alive'].includes(r.headers['connection'].toLowerCase()));
    assert.equal((await c.read(2048 + 1)).toString()[0], 'h');
    assert.equal((await c.read(2)).toString(), 'o\n');
    assert.equal((await c.read(19)).toString(), 'c[3000,"Go away!"]\n');
    assert.ok(await c.closed());
    c.close();
  });

  it('a polling response has a Content-Length, so a keep-alive connection survives it', async () => {
    const url = server.url + '/echo' + sessionPart();
    const path = new URL(url).pathname;
    const c = await RawHttpConnection.open(url);
    let r = await c.request('POST', path + '/xhr', { http: '1.0', headers: { Connection: 'Keep-Alive' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['transfer-encoding'], undefined);
    assert.equal(r.headers['content-length'], '2');
    assert.equal(r.headers['connection']?.toLowerCase(), 'keep-alive');
    assert.equal((await c.read(2)).toString(), 'o\n');
    assert.equal((await POST(url + '/xhr_send', { body: '["k"]' })).status, 204);
    r = await c.request('POST', path + '/xhr', { http: '1.0', headers: { Connection: 'Keep-Alive' } });
    assert.equal(r.status, 200);
    assert.equal((await c.read(Number(r.headers['content-length']))).toString(), 'a["k"]\n');
    c.close();
  });

  it('an HTTP/1.0 streaming response without keep-alive ends at the response limit by closing', async () => {
    const url = server.url + '/echo' + sessionPart();
    const c = await RawHttpConnection.open(url);
    const r = await c.request('GET', new URL(url).pathname + '/eventsource', { http: '1.0' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['transfer-encoding'], undefined);
    assert.equal((await c.read(2)).toString(), '\r\n');
    assert.equal((await c.read(11)).toString(), 'data: o\r\n\r\n');
    const big = 'y'.repeat(5000);
    const send = await RawHttpConnection.open(url);
    const sent = await send.request('POST', new URL(url).pathname + '/xhr_send', { http: '1.0', body: JSON.stringify([big]) });
    assert.equal(sent.status, 204);
    send.close();
    assert.equal(await c.readToEnd(), `data: a["${big}"]\r\n\r\n`);
    c.close();
  });
});

describe('HTTP/1.0 keep-alive on every endpoint that does not stream', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  /** One request with `Connection: Keep-Alive`, then a greeting on the same connection. */
  async function keptAlive(method: string, target: string, headers: Record<string, string> = {}, body?: string): Promise<string> {
    const c = await RawHttpConnection.open(server.url);
    try {
      const r = await c.request(method, target, { http: '1.0', headers: { Connection: 'Keep-Alive', ...headers }, body });
      assert.equal(r.headers['transfer-encoding'], undefined);
      const length = r.headers['content-length'];
      if (length !== undefined) await c.read(Number(length));
      else assert.ok([204, 304].includes(r.status), `${method} ${target}: ${r.status} without a length`);
      const answer = `${r.status} ${r.headers['connection']?.toLowerCase() ?? '(no Connection header)'}`;
      const next = await c.request('GET', '/echo', { http: '1.0', headers: { Connection: 'Keep-Alive' } }).then(
        (head) => head.status,
        () => 'closed',
      );
      return `${answer}, then ${next}`;
    } finally {
      c.close();
    }
  }

  it('answers keep-alive, with a length or no body, and the connection carries the next request', async () => {
    const path = new URL(server.url + '/echo' + sessionPart()).pathname;
    const cors = { Origin: 'http://example.com' };
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const page = await GET(server.url + '/echo/iframe.html');
    const requests: Array<[string, string, Record<string, string>?, string?]> = [
      ['GET', '/echo'],
      ['GET', '/echo/info'],
      ['OPTIONS', '/echo/info', cors],
      ['GET', '/echo/iframe.html'],
      ['GET', '/echo/iframe.html', { 'If-None-Match': page.headers['etag'] as string }],
      ['GET', '/echo/nowhere'],
      ['POST', '/echo'],
      ['OPTIONS', path + '/xhr_send', cors],
      // Each poll has a message waiting: the open frame, then the echo of the send before it.
      ['POST', path + '/xhr'],
      ['POST', path + '/xhr_send', {}, '["a"]'],
      ['GET', path + '/jsonp?c=callback'],
      ['POST', path + '/jsonp_send', form, 'd=%5B%22j%22%5D'],
      ['POST', path + '/xhr'],
      ['POST', path + '/xhr_send', {}, ''],
      ['POST', path + '/xhr_send', {}, '["broken'],
      ['POST', '/echo/000/no-such-session/xhr_send', {}, '["a"]'],
    ];
    const answers: string[] = [];
    for (const [method, target, headers, body] of requests) {
      answers.push(`${method} ${target.replace(path, '<session>')}${headers?.['If-None-Match'] ? ' (If-None-Match)' : ''}: ${await keptAlive(method, target, headers, body)}`);
    }
    assert.deepEqual(
      answers.filter((answer) => !/: \d{3} keep-alive, then 200$/.test(answer)),
      [],
      'every answer keeps the connection',
    );
  });
});
