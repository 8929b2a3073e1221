/**
 * Broken JSON on a websocket ends the connection (protocol suite: test_broken_json); frames that
 * came in the same chunk behind the broken one are not delivered either.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { RawHttpConnection } from '../conformance/helpers.js';
import { Hixie76Client } from '../helpers/hixie76-client.js';
import { listen, type Listening } from '../helpers/listen.js';

/** A server whose sessions record what they receive. */
async function recordingServer(): Promise<{ server: Listening; received: unknown[] }> {
  const received: unknown[] = [];
  class Recorder extends Session {
    override onMessage(message: unknown): void {
      received.push(message);
    }
  }
  const app = new Koa();
  app.use(sockjs({ prefix: '/r', session: Recorder }));
  return { server: await listen(app), received };
}

/** A client-to-server RFC 6455 text frame (masked, payload under 126 bytes). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

describe('broken JSON on a websocket', () => {
  it('RFC 6455: a valid frame in the same write as a broken one is dropped with it', async () => {
    const { server, received } = await recordingServer();
    try {
      const connection = await RawHttpConnection.open(`${server.url}/r/0/0/websocket`);
      const head = await connection.request('GET', '/r/0/0/websocket', {
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      assert.equal(head.status, 101);
      assert.deepEqual(await connection.read(3), Buffer.from([0x81, 0x01, 0x6f]));
      // Both frames reach the server in one chunk, so ws parses the second before the socket closes.
      connection.write(Buffer.concat([maskedTextFrame('["broken'), maskedTextFrame('["after"]')]));
      assert.equal((await connection.readSome()).length, 0);
      assert.deepEqual(received, []);
    } finally {
      await server.close();
    }
  });

  it('hixie-76: a valid frame in the same write as a broken one is dropped with it', async () => {
    const { server, received } = await recordingServer();
    try {
      const client = await Hixie76Client.open(`${server.url}/r/0/0/websocket`);
      assert.equal(await client.recv(), 'o');
      client.send('["before"]');
      const frames = ['["broken', '["after"]'].map((text) => Buffer.concat([Buffer.from([0x00]), Buffer.from(text), Buffer.from([0xff])]));
      client.connection.write(Buffer.concat(frames));
      // The server drops the connection without a close frame.
      assert.equal(await client.recv(), undefined);
      assert.deepEqual(received, ['before']);
    } finally {
      await server.close();
    }
  });
});
