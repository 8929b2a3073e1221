/** The real sockjs-client in Node, over the core transports: websocket and xhr-polling. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { listen, type Listening } from '../helpers/listen.js';
import { TestClient } from '../helpers/sockjs-client.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    // sockjs-client sends strings; a "json:" prefix asks for the value back as JSON.
    if (typeof message === 'string' && message.startsWith('json:')) this.send(JSON.parse(message.slice(5)));
    else if (message === 'close please') this.close(3456, 'Closed by the server ✓');
    else this.send(message);
  }
}

const MESSAGES = [
  'hello',
  'ünïcødé — 日本語 — 🎉👍🏽',
  '\u2028\u2029\u200c\ufeff\uffff',
  'control \u0000\u0001\u001f chars',
  '{"looks":"like json"}',
  'a["frame"]',
  'c[3000,"not a close"]',
  '</script><script>alert(1)</script>',
  '',
  'x'.repeat(70_000),
];

for (const transport of ['websocket', 'xhr-polling']) {
  describe(`sockjs-client over ${transport}`, () => {
    let server: Listening;
    let url: string;
    before(async () => {
      const app = new Koa();
      app.use(sockjs({ name: 'echo', prefix: '/echo', session: Echo }));
      server = await listen(app);
      url = `${server.url}/echo`;
    });
    after(() => server.close());

    it('opens on the forced transport and echoes strings exactly, in order', async () => {
      const client = new TestClient(url, transport);
      await client.opened;
      assert.equal(client.transport, transport);
      for (const message of MESSAGES) client.send(message);
      const received = await client.waitFor(MESSAGES.length);
      assert.deepEqual(received, MESSAGES);
      assert.deepEqual(await client.close(), { code: 1000, reason: 'Normal closure' });
    });

    it('delivers JSON values the server sends', async () => {
      const client = new TestClient(url, transport);
      await client.opened;
      const values = [{ a: 1, b: [true, null] }, 42, 'str', [1, 'two']];
      for (const value of values) client.send(`json:${JSON.stringify(value)}`);
      assert.deepEqual(await client.waitFor(values.length), values);
      await client.close();
    });

    it('sees a server close with its code and reason', async () => {
      const client = new TestClient(url, transport);
      await client.opened;
      client.send('close please');
      assert.deepEqual(await client.closed, { code: 3456, reason: 'Closed by the server ✓' });
    });
  });
}
