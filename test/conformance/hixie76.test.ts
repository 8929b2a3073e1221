// Protocol suite: WebsocketHixie76, over the hixie-76 draft itself: test_haproxy's exact
// handshake, and the suite's transport tests with a minimal hixie-76 client.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { upgradeHandler } from '../../src/index.js';
import { challengeResponse, Hixie76Parser, keyNumber } from '../../src/transports/shared/hixie76.js';
import { EXPECTED, Hixie76Client, KEY1, KEY2 } from '../helpers/hixie76-client.js';
import { createConformanceApp } from '../server/conformance-server.js';
import { RawHttpConnection, sessionPart, startServer, type ConformanceServer } from './helpers.js';

describe('websocket hixie-76', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  it('test_haproxy: headers before the nonce, then the MD5 answer', async () => {
    const url = base + sessionPart() + '/websocket';
    const parsed = new URL(url);
    const c = await RawHttpConnection.open(url);
    const r = await c.request('GET', parsed.pathname, {
      headers: { Connection: 'Upgrade', Upgrade: 'WebSocket', Origin: parsed.origin, 'Sec-WebSocket-Key1': KEY1, 'Sec-WebSocket-Key2': KEY2 },
    });
    // The head arrived although the nonce was not sent yet.
    assert.equal(r.status, 101);
    assert.equal(r.headers['connection']!.toLowerCase(), 'upgrade');
    assert.equal(r.headers['upgrade']!.toLowerCase(), 'websocket');
    assert.equal(r.headers['sec-websocket-location'], 'ws://' + parsed.host + parsed.pathname);
    assert.equal(r.headers['sec-websocket-origin'], parsed.origin);
    assert.equal(r.headers['content-length'], undefined);
    c.write('aaaaaaaa');
    assert.deepEqual((await c.read(16)).subarray(0, 16), EXPECTED);
    c.close();
  });

  it('test_transport', async () => {
    const ws = await Hixie76Client.open(base + sessionPart() + '/websocket');
    assert.equal(await ws.recv(), 'o');
    ws.send('["a"]');
    assert.equal(await ws.recv(), 'a["a"]');
    ws.close();
  });

  it('test_close', async () => {
    const ws = await Hixie76Client.open(server.url + '/close' + sessionPart() + '/websocket');
    assert.equal(await ws.recv(), 'o');
    assert.equal(await ws.recv(), 'c[3000,"Go away!"]');
    assert.equal(await ws.recv(), undefined);
    ws.close();
  });

  it('test_empty_frame', async () => {
    const ws = await Hixie76Client.open(base + sessionPart() + '/websocket');
    assert.equal(await ws.recv(), 'o');
    ws.send('');
    ws.send('[]');
    ws.send('["a"]');
    assert.equal(await ws.recv(), 'a["a"]');
    ws.close();
  });

  it('test_reuseSessionId', async () => {
    const url = base + sessionPart() + '/websocket';
    const ws1 = await Hixie76Client.open(url);
    assert.equal(await ws1.recv(), 'o');
    const ws2 = await Hixie76Client.open(url);
    assert.equal(await ws2.recv(), 'o');
    ws1.send('["a"]');
    assert.equal(await ws1.recv(), 'a["a"]');
    ws2.send('["b"]');
    assert.equal(await ws2.recv(), 'a["b"]');
    ws1.close();
    ws2.close();
    const ws3 = await Hixie76Client.open(url);
    assert.equal(await ws3.recv(), 'o');
    ws3.send('["a"]');
    assert.equal(await ws3.recv(), 'a["a"]');
    ws3.close();
  });

  it('test_broken_json: the server drops the connection', async () => {
    const ws = await Hixie76Client.open(base + sessionPart() + '/websocket');
    assert.equal(await ws.recv(), 'o');
    ws.send('["a');
    assert.equal(await ws.recv(), undefined);
    ws.close();
  });

  it('frames that arrive with the nonce are delivered', async () => {
    const url = base + sessionPart() + '/websocket';
    const parsed = new URL(url);
    const c = await RawHttpConnection.open(url);
    await c.request('GET', parsed.pathname, {
      headers: { Connection: 'Upgrade', Upgrade: 'WebSocket', Origin: parsed.origin, 'Sec-WebSocket-Key1': KEY1, 'Sec-WebSocket-Key2': KEY2 },
    });
    c.write(Buffer.concat([Buffer.from('aaaaaaaa'), Buffer.from([0x00]), Buffer.from('["early"]'), Buffer.from([0xff])]));
    assert.deepEqual(await c.read(16), EXPECTED);
    const expected = Buffer.from('\x00o\xff\x00a["early"]\xff', 'latin1');
    assert.deepEqual(await c.read(expected.length), expected);
    c.close();
  });

  it('garbage right behind the nonce drops the connection before a session opens', async () => {
    const manager = server.routes.get('/echo')!.manager;
    const known = new Set(manager.activeSessions().map((s) => s.id));
    const url = base + sessionPart() + '/websocket';
    const parsed = new URL(url);
    const c = await RawHttpConnection.open(url);
    await c.request('GET', parsed.pathname, {
      headers: { Connection: 'Upgrade', Upgrade: 'WebSocket', Origin: parsed.origin, 'Sec-WebSocket-Key1': KEY1, 'Sec-WebSocket-Key2': KEY2 },
    });
    c.write(Buffer.concat([Buffer.from('aaaaaaaa'), Buffer.from([0x41, 0x42])]));
    assert.deepEqual(await c.read(16), EXPECTED);
    assert.equal(await c.readToEnd(), '');
    assert.deepEqual(manager.activeSessions().filter((s) => !known.has(s.id)), []);
    c.close();
  });

  it('invalid keys are refused with 400', async () => {
    const url = base + sessionPart() + '/websocket';
    const c = await RawHttpConnection.open(url);
    const r = await c.request('GET', new URL(url).pathname, {
      headers: { Connection: 'Upgrade', Upgrade: 'WebSocket', 'Sec-WebSocket-Key1': 'nospaces123', 'Sec-WebSocket-Key2': KEY2 },
    });
    assert.equal(r.status, 400);
    assert.match(await c.readToEnd(), /Invalid Sec-WebSocket-Key1 or Sec-WebSocket-Key2\./);
    c.close();
  });

  it('binary (length-prefixed) frames drop the connection', async () => {
    const ws = await Hixie76Client.open(base + sessionPart() + '/websocket');
    assert.equal(await ws.recv(), 'o');
    ws.connection.write(Buffer.from([0x80, 0x01, 0x41]));
    assert.equal(await ws.recv(), undefined);
    ws.close();
  });
});

describe('hixie-76 behind upgradeHandler', () => {
  it("the nonce may come in the same packet as the headers when the server's 'upgrade' event is used", async () => {
    const app = createConformanceApp();
    const http = app.app.listen(0, '127.0.0.1');
    http.on('upgrade', upgradeHandler(app.app));
    await once(http, 'listening');
    try {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/echo${sessionPart()}/websocket`;
      const parsed = new URL(url);
      const c = await RawHttpConnection.open(url);
      c.write(
        `GET ${parsed.pathname} HTTP/1.1\r\nHost: ${parsed.host}\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nOrigin: ${parsed.origin}\r\n` +
          `Sec-WebSocket-Key1: ${KEY1}\r\nSec-WebSocket-Key2: ${KEY2}\r\n\r\naaaaaaaa`,
      );
      assert.equal((await c.readHead()).status, 101);
      assert.deepEqual(await c.read(16), EXPECTED);
      assert.deepEqual(await c.read(3), Buffer.from('\x00o\xff', 'latin1'));
      c.close();
    } finally {
      await app.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});

describe('hixie-76 pieces', () => {
  it('keyNumber: digits divided by spaces; invalid keys are undefined', () => {
    assert.equal(keyNumber(KEY1), 4146546015 / 5);
    assert.equal(keyNumber('1 2'), 12);
    assert.equal(keyNumber('123'), undefined);
    assert.equal(keyNumber('  '), undefined);
    assert.equal(keyNumber('1 0 1'), undefined); // 101 is not a multiple of 2
  });

  it('challengeResponse: the suite test_haproxy answer', () => {
    assert.deepEqual(challengeResponse(keyNumber(KEY1)!, keyNumber(KEY2)!, Buffer.from('aaaaaaaa')), EXPECTED);
  });

  it('Hixie76Parser: frames split anywhere, close frame, size limit, garbage', () => {
    const texts: string[] = [];
    const parser = new Hixie76Parser(10, (text) => texts.push(text));
    const utf8 = Buffer.concat([Buffer.from([0x00]), Buffer.from('ab'), Buffer.from([0xff, 0x00, 0xff, 0x00]), Buffer.from('héllo'), Buffer.from([0xff])]);
    for (const byte of utf8) assert.equal(parser.push(Buffer.from([byte])), true);
    assert.deepEqual(texts, ['ab', '', 'héllo']);
    assert.equal(parser.push(Buffer.from([0xff, 0x00])), true);
    assert.equal(parser.closed, true);

    const small = new Hixie76Parser(3, () => {});
    assert.equal(small.push(Buffer.from('\x00abcd', 'latin1')), false);
    assert.equal(new Hixie76Parser(3, () => {}).push(Buffer.from('\x00abcd\xff', 'latin1')), false);
    assert.equal(new Hixie76Parser(3, () => {}).push(Buffer.from([0x41])), false);
    assert.equal(new Hixie76Parser(3, () => {}).push(Buffer.from([0xff, 0x01])), false);
  });
});
