// Protocol suite: Protocol.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { POST, sessionPart, startRequest, startServer, untilReceiving, type ConformanceServer } from './helpers.js';
import { verify404 } from './verify.js';

describe('protocol and framing (over xhr-polling)', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('test_simpleSession: open frame, send, receive, 404 for unknown sessions, one receiver only', async () => {
    const transUrl = server.url + '/echo' + sessionPart();
    let r = await POST(transUrl + '/xhr');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'o\n');

    r = await POST(transUrl + '/xhr_send', { body: '["a"]' });
    assert.equal(r.status, 204);
    assert.equal(r.body, '');

    r = await POST(transUrl + '/xhr');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'a["a"]\n');

    verify404(await POST(server.url + '/echo/000/bad_session/xhr_send', { body: '["a"]' }));

    // Two receiving connections on one session: the second gets the close frame.
    const r1 = startRequest('POST', transUrl + '/xhr');
    await untilReceiving(server, '/echo', transUrl);
    const r2 = await POST(transUrl + '/xhr');
    assert.equal(r2.body, 'c[2010,"Another connection still open"]\n');
    assert.equal(r2.status, 200);
    r1.abort();
  });

  it('test_closeSession: the close frame is served to every later receiver', async () => {
    const transUrl = server.url + '/close' + sessionPart();
    let r = await POST(transUrl + '/xhr');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'o\n');
    for (let i = 0; i < 3; i++) {
      r = await POST(transUrl + '/xhr');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'c[3000,"Go away!"]\n');
    }
  });
});
