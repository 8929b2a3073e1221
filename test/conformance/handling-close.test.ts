// Protocol suite: HandlingClose.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionState } from '../../src/index.js';
import { POST, sessionKey, sessionPart, startRequest, startServer, StreamingResponse, untilReceiving, type ConformanceServer } from './helpers.js';

describe('handling close', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  /** Waits until the server has seen the aborted receiver and closed the session. */
  async function untilClosed(prefix: string, url: string): Promise<void> {
    const store = server.routes.get(prefix)!.manager.store;
    const deadline = Date.now() + 5000;
    // A networked store (Redis, KOA_SOCKJS_TEST_REDIS) answers with a promise.
    for (;;) {
      const record = await store.get(sessionKey(url));
      if (record !== undefined && record.state >= SessionState.CLOSING) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for session ${url} closed`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  it('test_close_frame: the closing session unlinks its request; a new one gets the close frame', async () => {
    const url = server.url + '/close' + sessionPart();
    const r1 = await StreamingResponse.open('POST', url + '/xhr_streaming');
    await r1.read(); // prelude
    assert.equal(await r1.read(), 'o\n');
    assert.equal(await r1.read(), 'c[3000,"Go away!"]\n');

    const r2 = await StreamingResponse.open('POST', url + '/xhr_streaming');
    await r2.read(); // prelude
    assert.equal(await r2.read(), 'c[3000,"Go away!"]\n');

    assert.equal(await r1.read(), '');
    assert.equal(await r2.read(), '');
    r1.close();
    r2.close();
  });

  it('test_close_request: a second streaming request gets 2010 and ends', async () => {
    const url = server.url + '/echo' + sessionPart();
    const r1 = await StreamingResponse.open('POST', url + '/xhr_streaming');
    await r1.read();
    assert.equal(await r1.read(), 'o\n');

    const r2 = await StreamingResponse.open('POST', url + '/xhr_streaming');
    await r2.read();
    assert.equal(await r2.read(), 'c[2010,"Another connection still open"]\n');
    assert.equal(await r2.read(), '');
    r1.close();
    r2.close();
  });

  it('test_abort_xhr_streaming: after the receiver is aborted, later receivers get c[1002]', async () => {
    const url = server.url + '/echo' + sessionPart();
    const r1 = await StreamingResponse.open('POST', url + '/xhr_streaming');
    await r1.read();
    assert.equal(await r1.read(), 'o\n');

    const r2 = await StreamingResponse.open('POST', url + '/xhr_streaming');
    await r2.read();
    assert.equal(await r2.read(), 'c[2010,"Another connection still open"]\n');
    assert.equal(await r2.read(), '');
    r2.close();

    r1.close();
    await untilClosed('/echo', url);

    const r3 = await StreamingResponse.open('POST', url + '/xhr_streaming');
    await r3.read();
    // The suite also allows 'o\n' (a forgotten session); we keep serving the close frame.
    assert.equal(await r3.read(), 'c[1002,"Connection interrupted"]\n');
    r3.close();
  });

  it('test_abort_xhr_polling: the same for polling', async () => {
    const url = server.url + '/echo' + sessionPart();
    let r = await POST(url + '/xhr');
    assert.equal(r.body, 'o\n');

    const r1 = startRequest('POST', url + '/xhr');
    await untilReceiving(server, '/echo', url);

    r = await POST(url + '/xhr');
    assert.equal(r.body, 'c[2010,"Another connection still open"]\n');

    r1.abort();
    await untilClosed('/echo', url);

    const r3 = await POST(url + '/xhr');
    assert.equal(r3.body, 'c[1002,"Connection interrupted"]\n');
  });

  for (const [transport, method, suffix] of [
    ['eventsource', 'GET', '/eventsource'],
    ['htmlfile', 'GET', '/htmlfile?c=cb'],
  ] as const) {
    it(`aborting a ${transport} stream closes the session with 1002 too`, async () => {
      const url = server.url + '/echo' + sessionPart();
      const r1 = await StreamingResponse.open(method, url + suffix);
      await r1.read();
      await r1.read();
      r1.close();
      await untilClosed('/echo', url);
      const r = await POST(url + '/xhr');
      assert.equal(r.body, 'c[1002,"Connection interrupted"]\n');
    });
  }

  it('an aborted jsonp poll closes the session with 1002 too', async () => {
    const url = server.url + '/echo' + sessionPart();
    assert.equal((await POST(url + '/xhr')).body, 'o\n');
    const r1 = startRequest('GET', url + '/jsonp?c=x');
    await untilReceiving(server, '/echo', url);
    r1.abort();
    await untilClosed('/echo', url);
    const r = await startRequest('GET', url + '/jsonp?c=x').response;
    assert.equal(r.body, '/**/x("c[1002,\\"Connection interrupted\\"]");\r\n');
  });

  // The suite: "Until the timeout occurs, the server must constantly serve the close message."
  // After it, the session's tombstone goes on serving it, so a late poll never opens a new
  // session on the same URL (issue 9; session-lifetime.test.ts follows the tombstone to its end).
  it('the close frame is served until the session expires, and by its tombstone after', async () => {
    const fast = await startServer({ disconnectDelay: 50 });
    try {
      const url = fast.url + '/close' + sessionPart();
      assert.equal((await POST(url + '/xhr')).body, 'o\n');
      assert.equal((await POST(url + '/xhr')).body, 'c[3000,"Go away!"]\n');
      const manager = fast.routes.get('/close')!.manager;
      const deadline = Date.now() + 5000;
      while (manager.size > 0) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the session to expire');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      assert.equal((await POST(url + '/xhr')).body, 'c[3000,"Go away!"]\n');
      assert.equal((await manager.store.get(sessionKey(url)))?.state, SessionState.CLOSED);
    } finally {
      await fast.close();
    }
  });
});
