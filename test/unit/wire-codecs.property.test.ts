/**
 * Property-based tests (fast-check) of the wire codecs (issue 9):
 * - every string sockjs-client can send, escaped as it escapes it (lib/utils/escape.js), decodes
 *   to itself on every sending path; every JSON value the server sends decodes to itself in the
 *   client and leaves nothing raw that the protocol wants escaped;
 * - frames split at arbitrary points give the same messages, in the pure parsers (hixie-76, ws's
 *   Receiver) and end to end through a server, over websocket, hixie-76, xhr_send and jsonp_send
 *   bodies written in arbitrary pieces.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { messageFrame } from '../../src/protocol/frames.js';
import { decodeMessageArray, decodeWebsocketFrame, encodeMessage, isEncodedMessage } from '../../src/protocol/json.js';
import { Hixie76Parser } from '../../src/transports/shared/hixie76.js';
import { EXPECTED, KEY1, KEY2 } from '../helpers/hixie76-client.js';
import { listen, type Listening } from '../helpers/listen.js';

const require = createRequire(import.meta.url);
/** sockjs-client's own escaping: what it applies to every message before sending it. */
const { quote } = require('sockjs-client/lib/utils/escape.js') as { quote(text: string): string };
/** ws's frame parser, the one its server side runs on every connection (not in @types/ws). */
const { Receiver } = require('ws') as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => import('node:stream').Writable;
};

/** Any UTF-16 code unit (lone surrogates included), any code point, and the characters the protocol singles out. */
const anyChar = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.constantFrom('\u0000', '\n', '\r', '"', '\\', '\u2028', '\u2029', '\u200c', '\ufeff', '\uffff', '\ud800', '\udfff', '\u0300', ']', '[', ',', '\u00ff'),
);
const anyString = fc.string({ unit: anyChar, maxLength: 40 });
const messages = fc.array(anyString, { minLength: 1, maxLength: 8 });

/** sockjs-client's payload for a batch of messages: `[` quoted messages `]` (buffered-sender.js, websocket.js). */
function clientPayload(batch: readonly string[]): string {
  return `[${batch.map(quote).join(',')}]`;
}

/** `bytes` cut at the given points (taken modulo its length): the pieces, in order. */
function cut(bytes: Buffer, points: readonly number[]): Buffer[] {
  const at = [...new Set(points.map((point) => (bytes.length ? point % bytes.length : 0)))].filter((point) => point > 0).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of at) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

const cutPoints = fc.array(fc.nat(), { maxLength: 12 });

/** A client-to-server RFC 6455 text frame, masked as a client must. */
function clientFrame(text: string, maskKey: Buffer): Buffer {
  const payload = Buffer.from(text, 'utf8');
  let head: Buffer;
  if (payload.length < 126) head = Buffer.from([0x81, 0x80 | payload.length]);
  else if (payload.length < 65536) {
    head = Buffer.alloc(4);
    head.writeUInt8(0x81, 0);
    head.writeUInt8(0x80 | 126, 1);
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head.writeUInt8(0x81, 0);
    head.writeUInt8(0x80 | 127, 1);
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= maskKey[i % 4]!;
  return Buffer.concat([head, maskKey, masked]);
}

function hixieFrame(text: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), Buffer.from(text, 'utf8'), Buffer.from([0xff])]);
}

describe('JSON escaping (property)', () => {
  it('whatever sockjs-client sends decodes to the same strings, on every sending path', () => {
    fc.assert(
      fc.property(messages, (batch) => {
        const payload = clientPayload(batch);
        assert.deepEqual(decodeMessageArray(payload), { ok: true, messages: batch });
        assert.deepEqual(decodeWebsocketFrame(payload), batch);
        // jsonp_send: the form field as a browser posts it.
        const form = new URLSearchParams({ d: payload }).toString();
        assert.deepEqual(decodeMessageArray(new URLSearchParams(form).get('d')!), { ok: true, messages: batch });
      }),
      { numRuns: 500 },
    );
  });

  it('whatever the server sends decodes in the client to the same value, with nothing raw the protocol wants escaped', () => {
    const value = fc.oneof(anyString, fc.jsonValue({ maxDepth: 3 }), fc.array(anyString, { maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 5 }), (values) => {
        const encoded = values.map(encodeMessage);
        for (const text of encoded) assert.ok(isEncodedMessage(text), `not frame-safe: ${JSON.stringify(text)}`);
        const frame = messageFrame(encoded);
        // One line on the xhr transports; sockjs-client parses the frame's JSON as is.
        assert.ok(!/[\n\r]/.test(frame));
        assert.deepEqual(JSON.parse(frame.slice(1)), JSON.parse(JSON.stringify(values)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('frame parsing under arbitrary chunking (property, pure)', () => {
  it('hixie-76: the same messages however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(messages, { minLength: 1, maxLength: 5 }), cutPoints, (batches, points) => {
        const stream = Buffer.concat(batches.map((batch) => hixieFrame(clientPayload(batch))));
        const texts: string[] = [];
        const parser = new Hixie76Parser(1 << 20, (text) => texts.push(text));
        for (const piece of cut(stream, points)) assert.equal(parser.push(piece), true);
        assert.deepEqual(texts.map(decodeWebsocketFrame), batches);
        assert.ok(parser.examined <= stream.length);
      }),
      { numRuns: 300 },
    );
  });

  it('RFC 6455 (ws Receiver, as the server uses it): the same messages however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(messages, { minLength: 1, maxLength: 5 }), cutPoints, fc.uint8Array({ minLength: 4, maxLength: 4 }), (batches, points, mask) => {
        const stream = Buffer.concat(batches.map((batch) => clientFrame(clientPayload(batch), Buffer.from(mask))));
        const texts: string[] = [];
        const receiver = new Receiver({ isServer: true, maxPayload: 1 << 20 });
        receiver.on('message', (data: Buffer) => texts.push(data.toString('utf8')));
        for (const piece of cut(stream, points)) receiver.write(piece);
        assert.deepEqual(texts.map(decodeWebsocketFrame), batches);
      }),
      { numRuns: 300 },
    );
  });
});

describe('frame parsing under arbitrary chunking (property, through a server)', () => {
  let server: Listening;
  /** What each session received, by the `run` query parameter of its URL. */
  const inbox = new Map<string, unknown[]>();
  let wake: (() => void) | undefined;

  class Recorder extends Session {
    readonly run = new URL(this.url, 'http://localhost').searchParams.get('run') ?? '';
    override onMessage(message: unknown): void {
      let received = inbox.get(this.run);
      if (!received) inbox.set(this.run, (received = []));
      received.push(message);
      wake?.();
    }
  }

  before(async () => {
    const app = new Koa();
    app.use(sockjs({ prefix: '/p', session: Recorder }));
    server = await listen(app);
  });
  after(() => server.close());

  let runs = 0;

  async function received(run: string, count: number): Promise<unknown[]> {
    while ((inbox.get(run)?.length ?? 0) < count) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    const got = inbox.get(run)!;
    inbox.delete(run);
    return got;
  }

  /** A raw connection that writes each piece as its own segment (no Nagle), one turn apart. */
  async function connect(): Promise<{ socket: net.Socket; read(count: number): Promise<Buffer>; writePieces(pieces: Buffer[]): Promise<void> }> {
    const socket = net.connect(server.port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    let buffer = Buffer.alloc(0);
    let more: (() => void) | undefined;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      more?.();
    });
    return {
      socket,
      async read(count) {
        while (buffer.length < count) await new Promise<void>((resolve) => (more = resolve));
        const head = buffer.subarray(0, count);
        buffer = buffer.subarray(count);
        return head;
      },
      async writePieces(pieces) {
        for (const piece of pieces) {
          await new Promise<void>((resolve, reject) => socket.write(piece, (error) => (error ? reject(error) : resolve())));
          await new Promise((resolve) => setImmediate(resolve));
        }
      },
    };
  }

  /** Reads a response head: through the blank line. */
  async function readHead(read: (count: number) => Promise<Buffer>): Promise<string> {
    let head = '';
    while (!head.endsWith('\r\n\r\n')) head += (await read(1)).toString('latin1');
    return head;
  }

  const NUM_RUNS = 25;

  it('websocket: batches written in arbitrary pieces reach onMessage unchanged, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(messages, { minLength: 1, maxLength: 4 }), cutPoints, async (batches, points) => {
        const run = `ws${runs++}`;
        const c = await connect();
        try {
          const path = `/p/000/${run}/websocket?run=${run}`;
          c.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
          assert.match(await readHead(c.read), /^HTTP\/1\.1 101 /);
          assert.deepEqual(await c.read(3), Buffer.from([0x81, 0x01, 0x6f]));
          const stream = Buffer.concat(batches.map((batch) => clientFrame(clientPayload(batch), Buffer.from([7, 1, 200, 33]))));
          await c.writePieces(cut(stream, points));
          assert.deepEqual(await received(run, batches.flat().length), batches.flat());
        } finally {
          c.socket.destroy();
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('hixie-76: batches written in arbitrary pieces reach onMessage unchanged, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(messages, { minLength: 1, maxLength: 4 }), cutPoints, async (batches, points) => {
        const run = `hx${runs++}`;
        const c = await connect();
        try {
          const path = `/p/000/${run}/websocket?run=${run}`;
          c.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nOrigin: http://x\r\nSec-WebSocket-Key1: ${KEY1}\r\nSec-WebSocket-Key2: ${KEY2}\r\n\r\n`);
          assert.match(await readHead(c.read), /^HTTP\/1\.1 101 /);
          c.socket.write('aaaaaaaa');
          assert.deepEqual(await c.read(16), EXPECTED);
          assert.deepEqual(await c.read(3), Buffer.from([0x00, 0x6f, 0xff]));
          const stream = Buffer.concat(batches.map((batch) => hixieFrame(clientPayload(batch))));
          await c.writePieces(cut(stream, points));
          assert.deepEqual(await received(run, batches.flat().length), batches.flat());
        } finally {
          c.socket.destroy();
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  for (const [transport, contentType, body] of [
    ['xhr_send', 'text/plain', (payload: string) => payload],
    ['jsonp_send', 'application/x-www-form-urlencoded', (payload: string) => new URLSearchParams({ d: payload }).toString()],
  ] as const) {
    it(`${transport}: a body written in arbitrary pieces delivers the same messages`, async () => {
      await fc.assert(
        fc.asyncProperty(messages, cutPoints, async (batch, points) => {
          const run = `${transport}${runs++}`;
          const base = `/p/000/${run}`;
          const c = await connect();
          try {
            c.socket.write(`POST ${base}/xhr?run=${run} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
            assert.match(await readHead(c.read), /^HTTP\/1\.1 200 /);
            assert.equal((await c.read(2)).toString(), 'o\n');
            const bytes = Buffer.from(body(clientPayload(batch)), 'utf8');
            c.socket.write(`POST ${base}/${transport} HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${bytes.length}\r\n\r\n`);
            await c.writePieces(cut(bytes, points));
            assert.match(await readHead(c.read), transport === 'xhr_send' ? /^HTTP\/1\.1 204 / : /^HTTP\/1\.1 200 /);
            assert.deepEqual(await received(run, batch.length), batch);
          } finally {
            c.socket.destroy();
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }
});
