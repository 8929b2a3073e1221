/**
 * permessage-deflate (RFC 7692) on the websocket transports: negotiated when the option is on
 * and the client offers it, not otherwise; compressible messages take fewer bytes on the wire;
 * messages under the threshold go out as they are. Bytes are counted on the client's socket.
 */
import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import { WebSocket } from 'ws';
import { Session, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { listen, type Listening } from '../helpers/listen.js';

class Echo extends Session {
  static opened = 0;
  static received = 0;
  override onOpen(): void {
    Echo.opened++;
  }
  override onMessage(message: unknown): void {
    Echo.received++;
    this.send(message);
  }
}

/** 20 000 bytes that compress well: a JSON-ish record, repeated. */
const COMPRESSIBLE = '{"user":"alice","status":"online","room":"lobby"} '.repeat(400);

const servers: Listening[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

async function start(options: SockjsManagedOptions<Session>): Promise<string> {
  Echo.opened = 0;
  Echo.received = 0;
  const app = new Koa();
  app.use(sockjs({ prefix: '/z', session: Echo, ...options }));
  const server = await listen(app);
  servers.push(server);
  return server.url.replace('http', 'ws');
}

interface Connected {
  ws: WebSocket;
  extensionsHeader: string | undefined;
  socket: Socket;
  next(): Promise<string>;
}

/** `sockjsFraming` false: the raw websocket endpoint (no open frame, messages as they are). */
async function connect(url: string, offer: boolean, sockjsFraming = true): Promise<Connected> {
  const ws = new WebSocket(url, { perMessageDeflate: offer });
  const frames: string[] = [];
  const waiting: Array<(frame: string) => void> = [];
  ws.on('message', (data) => {
    const waiter = waiting.shift();
    if (waiter) waiter(String(data));
    else frames.push(String(data));
  });
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    ws.once('upgrade', resolve);
    ws.once('error', reject);
  });
  const next = (): Promise<string> => (frames.length ? Promise.resolve(frames.shift()!) : new Promise((resolve) => waiting.push(resolve)));
  if (sockjsFraming) assert.equal(await next(), 'o');
  return { ws, extensionsHeader: response.headers['sec-websocket-extensions'] as string | undefined, socket: response.socket as Socket, next };
}

/** Echoes `message` and returns how many bytes the client's socket read for the answer. */
async function echoBytes(client: Connected, message: string, sockjsFraming = true): Promise<number> {
  const before = client.socket.bytesRead;
  client.ws.send(sockjsFraming ? JSON.stringify([message]) : message);
  assert.equal(await client.next(), sockjsFraming ? `a${JSON.stringify([message])}` : message);
  return client.socket.bytesRead - before;
}

async function close(client: Connected): Promise<void> {
  const closed = new Promise((resolve) => client.ws.once('close', resolve));
  client.ws.close();
  await closed;
}

describe('permessage-deflate', () => {
  it('is off by default: a client offering it gets plain frames', async () => {
    const base = await start({});
    const client = await connect(`${base}/z/000/a/websocket`, true);
    assert.equal(client.extensionsHeader, undefined);
    assert.equal(client.ws.extensions, '');
    assert.ok((await echoBytes(client, COMPRESSIBLE)) > COMPRESSIBLE.length);
    await close(client);
  });

  it('is negotiated when on and offered, and compressible messages take a fraction of the bytes', async () => {
    const base = await start({ perMessageDeflate: true });
    for (const [path, sockjsFraming] of [['/z/000/a/websocket', true], ['/z/websocket', false]] as const) {
      const client = await connect(`${base}${path}`, true, sockjsFraming);
      assert.match(client.extensionsHeader ?? '', /^permessage-deflate/, path);
      const bytes = await echoBytes(client, COMPRESSIBLE, sockjsFraming);
      assert.ok(bytes < COMPRESSIBLE.length / 10, `${path}: ${bytes} bytes on the wire for ${COMPRESSIBLE.length}`);
      await close(client);
    }
  });

  it('is not negotiated with a client that does not offer it, and still works', async () => {
    const base = await start({ perMessageDeflate: true });
    const client = await connect(`${base}/z/000/a/websocket`, false);
    assert.equal(client.extensionsHeader, undefined);
    assert.ok((await echoBytes(client, COMPRESSIBLE)) > COMPRESSIBLE.length);
    await close(client);
  });

  it('leaves messages under the threshold uncompressed', async () => {
    const base = await start({ perMessageDeflate: { threshold: 100_000, memLevel: 4, level: 1 } });
    const client = await connect(`${base}/z/000/a/websocket`, true);
    assert.match(client.extensionsHeader ?? '', /^permessage-deflate/);
    const bytes = await echoBytes(client, COMPRESSIBLE);
    assert.ok(bytes > COMPRESSIBLE.length, `${bytes} bytes on the wire for ${COMPRESSIBLE.length}`);
    await close(client);
  });

  it('with threshold 0, compresses every message with the connection\'s running context', async () => {
    const base = await start({ perMessageDeflate: { threshold: 0 } });
    const client = await connect(`${base}/z/000/a/websocket`, true);
    assert.doesNotMatch(client.extensionsHeader ?? '', /server_no_context_takeover/);
    // A small message, sent again: the second one is mostly a back-reference to the first.
    const small = 'status: alice is online in the lobby';
    const first = await echoBytes(client, small);
    const second = await echoBytes(client, small);
    assert.ok(second < first / 4, `${first} then ${second} bytes`);
    await close(client);
  });

  it('bounds what a message inflates to: a small compressed frame past maxMessageSize closes with 1009, nothing delivered', async () => {
    // A zip bomb: 2 MB of one letter compresses to about 2 KB. ws must check maxPayload against
    // the inflated size, fragments included, or the limit is no limit once compression is on.
    const base = await start({ perMessageDeflate: true, maxMessageSize: 100_000 });
    for (const [path, sockjsFraming] of [['/z/000/a/websocket', true], ['/z/websocket', false]] as const) {
      const client = await connect(`${base}${path}`, true, sockjsFraming);
      const closed = new Promise<number>((resolve) => client.ws.once('close', resolve));
      const before = client.ws.bufferedAmount;
      client.ws.send(`["${'a'.repeat(1_000_000)}`, { fin: false, compress: true });
      client.ws.send(`${'a'.repeat(1_000_000)}"]`, { fin: true, compress: true });
      assert.equal(await closed, 1009, path);
      assert.ok(client.socket.bytesWritten - before < 20_000, `${path}: ${client.socket.bytesWritten} bytes sent`);
    }
    assert.equal(Echo.received, 0);
  });

  it('answers an offer it cannot parse with 400, and opens no session', async () => {
    const base = await start({ perMessageDeflate: true });
    for (const offer of ['garbage;;;==', 'permessage-deflate; server_max_window_bits=16', 'permessage-deflate; client_max_window_bits=7', 'permessage-deflate; foo=bar']) {
      for (const path of ['/z/000/a/websocket', '/z/websocket']) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = http.get(`${base.replace('ws', 'http')}${path}`, {
            headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Extensions': offer },
          });
          req.once('response', (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.once('upgrade', (res, socket) => {
            socket.destroy();
            resolve(res.statusCode ?? 0);
          });
          req.once('error', reject);
        });
        assert.equal(status, 400, `${offer} on ${path}`);
      }
    }
    assert.equal(Echo.opened, 0);
  });

  it('refuses settings out of range, naming them', () => {
    assert.throws(() => sockjs({ perMessageDeflate: { memLevel: 10 } }), /perMessageDeflate\.memLevel.*1 to 9/);
    assert.throws(() => sockjs({ perMessageDeflate: { level: -1 } }), /perMessageDeflate\.level/);
    assert.throws(() => sockjs({ perMessageDeflate: { threshold: 1.5 } }), /perMessageDeflate\.threshold/);
    assert.throws(() => sockjs({ perMessageDeflate: { windowBits: 9 } as never }), /option "perMessageDeflate.windowBits" is not an option of perMessageDeflate/);
    assert.throws(() => sockjs({ perMessageDeflate: 'yes' as never }), /perMessageDeflate/);
  });
});
