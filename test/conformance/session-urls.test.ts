// Protocol suite: SessionURLs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { GET, POST, startServer, type ConformanceServer } from './helpers.js';
import { verify404 } from './verify.js';

describe('session URLs: <base_url>/<server>/<session>/<transport>', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  async function verify(sessionPart: string): Promise<void> {
    const r = await POST(base + sessionPart + '/xhr');
    assert.equal(r.status, 200, sessionPart);
    assert.equal(r.body, 'o\n', sessionPart);
  }

  it('test_anyValue: any server and session value is accepted', async () => {
    await verify('/a/a');
    for (const part of ['/_/_', '/1/1', '/abcdefgh_i-j%20/abcdefg_i-j%20']) await verify(part);
  });

  it('test_invalidPaths: empty parts, dots, too few or too many parts are 404', async () => {
    for (const suffix of ['//', '/a./a', '/a/a.', '/./.', '/', '///']) {
      verify404(await GET(base + suffix + '/xhr'), `GET ${suffix}`);
      verify404(await POST(base + suffix + '/xhr'), `POST ${suffix}`);
    }
  });

  it('test_ignoringServerId: the session is found by session id alone', async () => {
    const sessionId = randomUUID();
    let r = await POST(base + '/000/' + sessionId + '/xhr');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'o\n');
    r = await POST(base + '/000/' + sessionId + '/xhr_send', { body: '["a"]' });
    assert.equal(r.status, 204);
    assert.equal(r.body, '');
    r = await POST(base + '/999/' + sessionId + '/xhr');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'a["a"]\n');
  });

  it('unknown transports are 404', async () => {
    for (const transport of ['xhr_polling', 'jsonp_polling', 'unknown', 'XHR', 'iframe', 'info']) {
      verify404(await POST(base + '/000/abc/' + transport), transport);
      verify404(await GET(base + '/000/abc/' + transport), transport);
    }
  });
});
