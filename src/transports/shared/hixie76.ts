/**
 * WebSocket draft hixie-76 (hybi-00): the handshake and the framing, for the protocol suite's
 * WebsocketHixie76 tests. `ws` speaks RFC 6455 only; this module is all the server needs of the
 * old draft, isolated so it can be dropped without touching the rest.
 *
 * Handshake: the client sends `Sec-WebSocket-Key1`/`Key2` headers and 8 bytes after the headers;
 * the server answers 101 and the MD5 of (key1 number, key2 number, the 8 bytes). The response
 * headers go out before the 8 bytes arrive: HAProxy forwards those only once the server has
 * answered (protocol suite: test_haproxy).
 *
 * Framing: a text frame is 0x00, UTF-8 text, 0xFF; 0xFF 0x00 closes. Length-prefixed binary
 * frames never carried SockJS traffic and are refused.
 *
 * Limitation: without an 'upgrade' listener on the HTTP server, Node's parser drops bytes that
 * arrive in the same packet as the request headers, so a client that sends the 8 bytes with the
 * headers never completes the handshake (it times out). HAProxy-style clients, which wait, work;
 * behind `upgradeHandler(app)` those bytes come as the upgrade head and every client works.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { DEFAULTS } from '../../defaults.js';
import { logger } from '../../log.js';
import type { AbortListener, Receiver } from '../../session/receiver.js';
import { whenFlushed } from '../../session/drain.js';

const log = logger('hixie76');

/** Wait this long for the client's 8 bytes before giving up on the handshake. */
export const HIXIE76_HANDSHAKE_TIMEOUT_MS = 10_000;

const CLOSE_FRAME = Buffer.from([0xff, 0x00]);
const FRAME_START = Buffer.from([0x00]);
const FRAME_END = Buffer.from([0xff]);

/** A hixie-76 handshake: two key headers and no `Sec-WebSocket-Version`. */
export function isHixie76(req: IncomingMessage): boolean {
  const { headers } = req;
  return headers['sec-websocket-version'] === undefined && typeof headers['sec-websocket-key1'] === 'string' && typeof headers['sec-websocket-key2'] === 'string';
}

/** A key's number: its digits read as a number, divided by its count of spaces. Undefined if invalid. */
export function keyNumber(key: string): number | undefined {
  const digits = key.replace(/[^0-9]/g, '');
  const spaces = key.split(' ').length - 1;
  if (digits.length === 0 || spaces === 0) return undefined;
  const value = Number(digits);
  // The draft requires the digits to be a multiple of the spaces, and the quotient to fit 32 bits.
  if (!Number.isSafeInteger(value) || value % spaces !== 0 || value / spaces > 0xffffffff) return undefined;
  return value / spaces;
}

/** The 16-byte answer to the client's 8 bytes: MD5(key1 BE32, key2 BE32, key3). */
export function challengeResponse(number1: number, number2: number, key3: Buffer): Buffer {
  const input = Buffer.alloc(16);
  input.writeUInt32BE(number1, 0);
  input.writeUInt32BE(number2, 4);
  key3.copy(input, 8, 0, 8);
  return createHash('md5').update(input).digest();
}

export interface Hixie76Handlers {
  onMessage(text: string): void;
  /** A message over the size limit arrived: the connection is dropped right after. */
  onTooLarge?(): void;
  /** The connection is gone: closed by either side, broken, or failed. Called once. */
  onClose(): void;
}

/**
 * Splits a byte stream into hixie-76 frames. Pure; returns false on a protocol error.
 *
 * Linear in the bytes pushed, however they are chunked: each byte is examined once, and a frame
 * that spans chunks is kept as its parts and joined once when its end arrives. (Joining and
 * rescanning the whole buffer on every chunk made a 1 MB frame in 512-byte writes cost seconds of
 * CPU: issue 9, fault 5.)
 */
export class Hixie76Parser {
  /** The text frame being read, when one is open: its bytes so far, without the 0x00. */
  #parts: Buffer[] | undefined;
  #partsLength = 0;
  /** A 0xFF came outside a frame: the next byte must be the 0x00 of the closing handshake. */
  #closing = false;
  #examined = 0;
  closed = false;
  /** Set when push() refused a frame over maxMessageSize (not some other protocol error). */
  tooLarge = false;

  constructor(
    readonly maxMessageSize: number,
    readonly onText: (text: string) => void,
  ) {}

  /** Bytes examined so far: never more than the bytes pushed (what keeps the parser linear). */
  get examined(): number {
    return this.#examined;
  }

  /**
   * Takes bytes; calls onText per complete frame. False: the stream is invalid, or a frame is
   * over maxMessageSize (then `tooLarge` is set).
   */
  push(chunk: Buffer): boolean {
    let at = 0;
    while (at < chunk.length && !this.closed) {
      const parts = this.#parts;
      if (parts) {
        const end = chunk.indexOf(0xff, at);
        const stop = end === -1 ? chunk.length : end;
        this.#examined += stop - at;
        const size = this.#partsLength + stop - at;
        if (size > this.maxMessageSize) {
          this.tooLarge = true;
          return false;
        }
        if (end === -1) {
          parts.push(chunk.subarray(at));
          this.#partsLength = size;
          return true;
        }
        this.#examined++;
        const text = parts.length === 0 ? chunk.toString('utf8', at, end) : Buffer.concat([...parts, chunk.subarray(at, end)], size).toString('utf8');
        this.#parts = undefined;
        this.#partsLength = 0;
        at = end + 1;
        this.onText(text);
        continue;
      }
      const byte = chunk[at++];
      this.#examined++;
      if (this.#closing) {
        if (byte !== 0x00) return false;
        this.closed = true;
      } else if (byte === 0x00) {
        this.#parts = [];
      } else if (byte === 0xff) {
        this.#closing = true;
      } else {
        // Length-prefixed binary frames (high bit set) never carried SockJS traffic.
        return false;
      }
    }
    return true;
  }
}

/**
 * A hixie-76 connection on a socket whose request headers were read. `accept` writes the
 * response headers at once and completes the handshake when the 8 bytes arrive.
 */
export class Hixie76Connection {
  #open = false;
  #done = false;
  /** Messages parsed before start(): bytes that came with the handshake's 8. */
  #pending: string[] | undefined = [];
  readonly #socket: Socket;
  readonly #parser: Hixie76Parser;
  readonly #handlers: Hixie76Handlers;
  readonly #closeTimeoutMs: number;

  /** Bytes written but not yet sent. */
  get backlog(): number {
    return this.#socket.writableLength;
  }

  /** Calls `callback` once what was written so far has left for the client (see Receiver). */
  onceFlushed(callback: () => void): void {
    whenFlushed(this.#socket, callback);
  }

  /** Stops reading the client's bytes (its messages wait in TCP) until `resume()`. */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  /**
   * @param closeTimeoutMs how long `close()` waits for the client to end its side before the
   *   socket is destroyed (the `websocketCloseTimeout` option)
   */
  constructor(socket: Socket, maxMessageSize: number, handlers: Hixie76Handlers, closeTimeoutMs: number = DEFAULTS.websocketCloseTimeout) {
    this.#socket = socket;
    this.#closeTimeoutMs = closeTimeoutMs;
    this.#handlers = handlers;
    this.#parser = new Hixie76Parser(maxMessageSize, (text) => {
      if (this.#pending) this.#pending.push(text);
      else handlers.onMessage(text);
    });
  }

  get open(): boolean {
    return this.#open && !this.#done;
  }

  /**
   * Answers the handshake. Resolves true once it is complete, false if the keys are invalid
   * (after answering 400) or the client went away.
   */
  accept(req: IncomingMessage, head: Buffer): Promise<boolean> {
    const socket = this.#socket;
    const number1 = keyNumber(String(req.headers['sec-websocket-key1']));
    const number2 = keyNumber(String(req.headers['sec-websocket-key2']));
    if (number1 === undefined || number2 === undefined) {
      const body = 'Invalid Sec-WebSocket-Key1 or Sec-WebSocket-Key2.';
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      return Promise.resolve(false);
    }
    const scheme = (socket as Socket & { encrypted?: boolean }).encrypted ? 'wss' : 'ws';
    const lines = [
      'HTTP/1.1 101 WebSocket Protocol Handshake',
      'Upgrade: WebSocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Origin: ${req.headers.origin ?? 'null'}`,
      `Sec-WebSocket-Location: ${scheme}://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`,
    ];
    const protocol = req.headers['sec-websocket-protocol'];
    if (typeof protocol === 'string') lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    socket.setTimeout(HIXIE76_HANDSHAKE_TIMEOUT_MS);
    socket.setNoDelay(true);
    socket.write(lines.join('\r\n') + '\r\n\r\n');

    return new Promise((resolve) => {
      let key3 = head;
      const onTimeout = (): void => {
        socket.destroy();
      };
      const onClose = (): void => {
        socket.off('data', onHandshakeData);
        socket.off('timeout', onTimeout);
        resolve(false);
      };
      const onHandshakeData = (chunk: Buffer): void => {
        key3 = key3.length ? Buffer.concat([key3, chunk]) : chunk;
        if (key3.length < 8) return;
        socket.off('data', onHandshakeData);
        socket.off('close', onClose);
        socket.off('timeout', onTimeout);
        socket.setTimeout(0);
        socket.write(challengeResponse(number1, number2, key3));
        this.#open = true;
        socket.on('data', (data: Buffer) => this.#receive(data));
        socket.on('close', () => this.#finish());
        resolve(true);
        const rest = key3.subarray(8);
        if (rest.length) this.#receive(rest);
      };
      socket.on('timeout', onTimeout);
      socket.once('close', onClose);
      socket.on('error', (error) => log('socket error: %O', error));
      socket.on('data', onHandshakeData);
      if (key3.length) onHandshakeData(Buffer.alloc(0));
    });
  }

  /** Starts delivering messages to the handlers; call once the session is ready for them. */
  start(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) for (const text of pending) this.#handlers.onMessage(text);
  }

  /** Sends one text message. */
  send(text: string): void {
    if (!this.open) return;
    this.#socket.write(Buffer.concat([FRAME_START, Buffer.from(text, 'utf8'), FRAME_END]));
  }

  /** The closing handshake: 0xFF 0x00, then the end of the socket. */
  close(): void {
    if (this.#done) return;
    const socket = this.#socket;
    if (this.#open) socket.end(CLOSE_FRAME);
    else socket.end();
    // The draft has no closing handshake to wait for, only the client's end of the TCP
    // connection: the server's socket is half-open (http.Server's allowHalfOpen), so a client
    // that never ends its side, or stopped reading, would hold it and server.close() for ever.
    // Cut like ws cuts an unanswered close frame (its closeTimeout, on the real clock too).
    if (!socket.destroyed) {
      const cut = setTimeout(() => socket.destroy(), this.#closeTimeoutMs);
      socket.once('close', () => clearTimeout(cut));
    }
    this.#finish();
  }

  /** Drops the connection without a goodbye (broken input). */
  terminate(): void {
    this.#socket.destroy();
    this.#finish();
  }

  #receive(data: Buffer): void {
    if (this.#done) return;
    if (!this.#parser.push(data)) {
      // Counted like every transport's oversize message (a `size` refusal), then dropped: the
      // draft has no close code to say why.
      if (this.#parser.tooLarge) this.#handlers.onTooLarge?.();
      this.terminate();
      return;
    }
    if (this.#parser.closed) this.close();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#handlers.onClose();
  }
}

/** A Receiver over a hixie-76 connection: SockJS frames as text messages. */
export class Hixie76Receiver implements Receiver {
  readonly transport = 'websocket';
  abortListener: AbortListener | undefined;
  #ended = false;

  constructor(readonly connection: Hixie76Connection) {}

  /** The connection ended; tells the session layer unless it ended the receiver itself. */
  closed(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.abortListener?.receiverAborted(this);
  }

  get backlog(): number {
    return this.connection.backlog;
  }

  onceFlushed(callback: () => void): void {
    this.connection.onceFlushed(callback);
  }

  pause(): void {
    this.connection.pause();
  }

  resume(): void {
    this.connection.resume();
  }

  send(frame: string | Buffer): boolean {
    if (this.#ended || !this.connection.open) return false;
    this.connection.send(typeof frame === 'string' ? frame : frame.toString('utf8'));
    return true;
  }

  end(frame?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    if (frame !== undefined) this.connection.send(frame);
    this.connection.close();
  }
}
