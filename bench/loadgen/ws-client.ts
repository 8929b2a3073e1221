/**
 * A minimal WebSocket client on `net`, lean enough that the load generator is
 * never the bottleneck: one fixed handshake, frames parsed in place from the
 * socket's chunks, and outgoing frames pre-built and masked once (a frame
 * template is copied and only its sequence digits are patched, already masked).
 *
 * It implements what the benchmark needs of RFC 6455: client masking, 7/16/64-bit
 * lengths, fragmented messages, ping -> pong, close. No extensions are offered.
 */
import net from 'node:net';
import { createHash } from 'node:crypto';

/** RFC 6455's sample key; any fixed key is fine for a load generator. */
const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const WS_ACCEPT = createHash('sha1').update(`${WS_KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

/** One fixed masking key: the frames are built once, the server still unmasks every byte. */
const MASK = Buffer.from([0x5a, 0x1c, 0xa7, 0x3e]);

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
const OPCODE_CONTINUATION = 0x0;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

const CRLF2 = Buffer.from('\r\n\r\n');

/** Builds one masked client frame. */
export function maskedFrame(payload: Buffer | string, opcode = OPCODE_TEXT): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = data.length;
  const header = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + 4 + len);
  frame[0] = 0x80 | opcode;
  if (len < 126) {
    frame[1] = 0x80 | len;
  } else if (len < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  MASK.copy(frame, header);
  const start = header + 4;
  for (let i = 0; i < len; i++) frame[start + i] = data[i]! ^ MASK[i & 3]!;
  return frame;
}

/**
 * A pre-built, pre-masked frame whose payload carries a fixed-width decimal
 * sequence number at `digitsAt` (an offset into the payload). `writeTo` copies
 * the template and patches the digits, masking them as it goes.
 */
export class FrameTemplate {
  readonly frame: Buffer;
  readonly #digitsAt: number;
  readonly #width: number;
  readonly #payloadStart: number;

  constructor(payload: string, digitsAt: number, width: number) {
    this.frame = maskedFrame(payload);
    this.#payloadStart = this.frame.length - Buffer.byteLength(payload);
    this.#digitsAt = digitsAt;
    this.#width = width;
  }

  get length(): number {
    return this.frame.length;
  }

  /** Writes the frame for `seq` at `offset` of `target`; returns the offset after it. */
  writeTo(target: Buffer, offset: number, seq: number): number {
    this.frame.copy(target, offset);
    let value = seq;
    for (let i = this.#width - 1; i >= 0; i--) {
      const p = this.#digitsAt + i; // position within the payload decides the mask byte
      target[offset + this.#payloadStart + p] = (48 + (value % 10)) ^ MASK[p & 3]!;
      value = Math.floor(value / 10);
    }
    return offset + this.frame.length;
  }
}

const CLOSE_FRAME = maskedFrame(Buffer.from([0x03, 0xe8]), OPCODE_CLOSE); // 1000, normal closure

export interface WsHandlers {
  /** The 101 response arrived and was checked. */
  onUpgrade(client: WsClient): void;
  /** A complete text or binary message. `payload` is only valid during the call. */
  onMessage(client: WsClient, payload: Buffer): void;
  /** The socket closed; `error` is set when it closed because of one. */
  onClose(client: WsClient, error: Error | null): void;
}

export class WsClient {
  readonly socket: net.Socket;
  /** Free for the scenario: which session this is. */
  readonly index: number;
  upgraded = false;
  closed = false;
  #handlers: WsHandlers;
  #pending: Buffer | null = null;
  #fragments: Buffer[] | null = null;
  #error: Error | null = null;
  #closeSent = false;

  constructor(port: number, path: string, index: number, handlers: WsHandlers) {
    this.index = index;
    this.#handlers = handlers;
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    this.socket = socket;
    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => {
      this.#error ??= err;
    });
    socket.on('close', () => {
      this.closed = true;
      this.#handlers.onClose(this, this.#error);
    });
  }

  /** Sends bytes that are already complete masked frames. */
  write(frames: Buffer): void {
    if (!this.closed) this.socket.write(frames);
  }

  /**
   * Starts the closing handshake: sends a close frame and leaves closing the TCP
   * connection to the server, as RFC 6455 (7.1.1) wants. The server then holds
   * the TIME_WAIT socket, on its own port, where it does not slow down the
   * client's next connect(). A server that never closes is reset after 2 s.
   */
  close(): void {
    if (this.closed || this.#closeSent) return;
    if (!this.upgraded) {
      this.destroy();
      return;
    }
    this.#closeSent = true;
    this.socket.write(CLOSE_FRAME);
    setTimeout(() => this.destroy(), 2000).unref();
  }

  /**
   * Drops the connection with a TCP reset. A load generator that closed with FIN
   * would leave a TIME_WAIT socket per connection on this side; tens of
   * thousands of those slow down every later connect() on the machine (the
   * port search), so one run would tax the next.
   */
  destroy(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  #fail(message: string): void {
    this.#error ??= new Error(message);
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = null;
    let off = 0;
    if (!this.upgraded) {
      const end = buf.indexOf(CRLF2);
      if (end === -1) {
        if (buf.length > 16384) this.#fail('handshake response too large');
        else this.#pending = buf;
        return;
      }
      const head = buf.toString('latin1', 0, end);
      if (!head.startsWith('HTTP/1.1 101')) {
        this.#fail(`websocket handshake refused: ${head.split('\r\n')[0]}`);
        return;
      }
      const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head);
      if (accept?.[1] !== WS_ACCEPT) {
        this.#fail('websocket handshake: wrong Sec-WebSocket-Accept');
        return;
      }
      this.upgraded = true;
      off = end + 4;
      this.#handlers.onUpgrade(this);
    }
    // Writes made while handling this chunk go out in one writev.
    this.socket.cork();
    try {
      off = this.#parseFrames(buf, off);
    } finally {
      this.socket.uncork();
    }
    if (off < buf.length && !this.closed) this.#pending = buf.subarray(off);
  }

  #parseFrames(buf: Buffer, start: number): number {
    let off = start;
    while (buf.length - off >= 2) {
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      if ((b1 & 0x80) !== 0) {
        this.#fail('server sent a masked frame');
        return buf.length;
      }
      let len = b1 & 0x7f;
      let header = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        header = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        header = 10;
      }
      if (buf.length - off < header + len) break;
      const payload = buf.subarray(off + header, off + header + len);
      off += header + len;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if (opcode === OPCODE_TEXT || opcode === OPCODE_BINARY) {
        if (fin) this.#handlers.onMessage(this, payload);
        else this.#fragments = [Buffer.from(payload)];
      } else if (opcode === OPCODE_CONTINUATION) {
        if (this.#fragments === null) {
          this.#fail('continuation frame without a first fragment');
          return buf.length;
        }
        this.#fragments.push(Buffer.from(payload));
        if (fin) {
          const whole = Buffer.concat(this.#fragments);
          this.#fragments = null;
          this.#handlers.onMessage(this, whole);
        }
      } else if (opcode === OPCODE_PING) {
        this.socket.write(maskedFrame(Buffer.from(payload), OPCODE_PONG));
      } else if (opcode === OPCODE_CLOSE) {
        // Answer a close the server started; either way the server ends the TCP connection.
        this.close();
      } else if (opcode !== OPCODE_PONG) {
        this.#fail(`unknown opcode ${opcode}`);
        return buf.length;
      }
      if (this.closed) return buf.length;
    }
    return off;
  }
}
