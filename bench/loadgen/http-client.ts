/**
 * A minimal HTTP/1.1 keep-alive client on `net` for the xhr transports: one
 * request at a time per connection, bodies delivered as they arrive (the
 * streaming transport needs that), Content-Length, chunked and read-until-close
 * bodies. It reconnects when the server closed the previous connection.
 */
import net from 'node:net';

/**
 * Hears one response. Scenarios keep one handler object per connection and
 * reuse it for every request: a closure per request costs more than the parse.
 */
export interface ResponseHandler {
  /** Called once the status line and headers are in. */
  onHead(status: number): void;
  /** A piece of the (de-chunked) body; only valid during the call. */
  onBody(chunk: Buffer): void;
  onEnd(): void;
  onError(error: Error): void;
}

const CRLF = Buffer.from('\r\n');
const CRLF2 = Buffer.from('\r\n\r\n');

const enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailer,
  UntilClose,
}

/** Builds the bytes of a request once, so a loop can send it again and again. */
export function buildRequest(method: string, path: string, port: number, body: string | null = null): Buffer {
  const bodyBytes = body === null ? null : Buffer.from(body);
  const head =
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    (bodyBytes === null
      ? '\r\n'
      : `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${bodyBytes.length}\r\n\r\n`);
  return bodyBytes === null ? Buffer.from(head) : Buffer.concat([Buffer.from(head), bodyBytes]);
}

export class HttpConn {
  readonly #port: number;
  #socket: net.Socket | null = null;
  #state = State.Idle;
  #handler: ResponseHandler | null = null;
  #pending: Buffer | null = null;
  #remaining = 0;
  #keepAlive = true;
  #head = true;
  #destroyed = false;
  /** Connections made so far (1 + reconnects). */
  connects = 0;

  constructor(port: number) {
    this.#port = port;
  }

  get busy(): boolean {
    return this.#handler !== null;
  }

  /** Sends `request` (built by {@link buildRequest}); `handler` hears the response. */
  send(request: Buffer, handler: ResponseHandler, isHead = false): void {
    if (this.#destroyed) {
      handler.onError(new Error('connection destroyed'));
      return;
    }
    if (this.#handler !== null) throw new Error('HttpConn: a request is already in flight');
    this.#handler = handler;
    this.#state = State.Head;
    this.#head = isHead;
    this.#pending = null;
    if (this.#socket === null) this.#connect();
    this.#socket!.write(request);
  }

  /** Drops the connection with a TCP reset, so no TIME_WAIT socket is left behind (see WsClient.destroy). */
  destroy(): void {
    this.#destroyed = true;
    if (this.#socket !== null && !this.#socket.destroyed) this.#socket.resetAndDestroy();
    this.#socket = null;
  }

  #connect(): void {
    this.connects++;
    const socket = net.connect({ port: this.#port, host: '127.0.0.1', noDelay: true });
    this.#socket = socket;
    this.#keepAlive = true;
    socket.on('data', (chunk: Buffer) => {
      if (this.#socket === socket) this.#onData(chunk);
    });
    socket.on('error', (err) => {
      if (this.#socket === socket) this.#finishWithError(err);
    });
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (this.#state === State.UntilClose) this.#finish();
      else if (this.#handler !== null) this.#finishWithError(new Error('connection closed mid-response'));
    });
  }

  #finish(): void {
    const handler = this.#handler;
    this.#handler = null;
    this.#state = State.Idle;
    if (!this.#keepAlive) {
      this.#socket?.end();
      this.#socket = null;
    }
    handler?.onEnd();
  }

  #finishWithError(error: Error): void {
    const handler = this.#handler;
    this.#handler = null;
    this.#state = State.Idle;
    this.#socket?.destroy();
    this.#socket = null;
    handler?.onError(error);
  }

  #onData(chunk: Buffer): void {
    let buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = null;
    let off = 0;
    while (off < buf.length && this.#handler !== null) {
      switch (this.#state) {
        case State.Head: {
          const end = buf.indexOf(CRLF2, off);
          if (end === -1) {
            this.#pending = buf.subarray(off);
            return;
          }
          if (!this.#parseHead(buf, off, end)) return;
          off = end + 4;
          break;
        }
        case State.Length: {
          const n = Math.min(this.#remaining, buf.length - off);
          this.#handler.onBody(buf.subarray(off, off + n));
          off += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#finish();
          break;
        }
        case State.ChunkSize: {
          const end = buf.indexOf(CRLF, off);
          if (end === -1) {
            this.#pending = buf.subarray(off);
            return;
          }
          const size = parseInt(buf.toString('latin1', off, end), 16);
          if (!Number.isFinite(size) || size < 0) {
            this.#finishWithError(new Error('bad chunk size'));
            return;
          }
          off = end + 2;
          this.#remaining = size;
          this.#state = size === 0 ? State.Trailer : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.#remaining, buf.length - off);
          this.#handler.onBody(buf.subarray(off, off + n));
          off += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          if (buf.length - off < 2) {
            this.#pending = buf.subarray(off);
            return;
          }
          off += 2;
          this.#state = State.ChunkSize;
          break;
        }
        case State.Trailer: {
          const end = buf.indexOf(CRLF, off);
          if (end === -1) {
            this.#pending = buf.subarray(off);
            return;
          }
          const empty = end === off;
          off = end + 2;
          if (empty) this.#finish();
          break;
        }
        case State.UntilClose: {
          this.#handler.onBody(buf.subarray(off));
          off = buf.length;
          break;
        }
        case State.Idle:
          this.#finishWithError(new Error('data from the server with no request in flight'));
          return;
      }
    }
    if (off < buf.length && this.#handler === null) {
      // Bytes after a complete response with nothing asked: the server misbehaved.
      this.#socket?.destroy();
      this.#socket = null;
    }
  }

  /**
   * Parses the status line and the three headers that frame the body
   * (Content-Length, Transfer-Encoding, Connection) straight from the bytes.
   * Returns false when it already finished the response with an error.
   */
  #parseHead(buf: Buffer, start: number, end: number): boolean {
    // "HTTP/1.x NNN reason"
    if (end - start < 12 || buf.toString('latin1', start, start + 7) !== 'HTTP/1.') {
      this.#finishWithError(new Error(`bad status line: ${JSON.stringify(buf.toString('latin1', start, Math.min(end, start + 40)))}`));
      return false;
    }
    const code = (buf[start + 9]! - 48) * 100 + (buf[start + 10]! - 48) * 10 + (buf[start + 11]! - 48);
    let keepAlive = buf[start + 7] === 0x31; // HTTP/1.1 keeps the connection unless told otherwise
    let length = -1;
    let chunked = false;
    let line = buf.indexOf(CRLF, start) + 2;
    while (line > 1 && line < end) {
      let eol = buf.indexOf(CRLF, line);
      if (eol === -1 || eol > end) eol = end;
      const first = buf[line]! | 0x20; // lower case
      if (first === 0x63 /* c */ || first === 0x74 /* t */) {
        const text = buf.toString('latin1', line, eol).toLowerCase();
        if (text.startsWith('content-length:')) length = Number(text.slice(15).trim());
        else if (text.startsWith('connection:')) keepAlive = !text.includes('close');
        else if (text.startsWith('transfer-encoding:')) chunked = text.includes('chunked');
      }
      line = eol + 2;
    }
    this.#keepAlive = keepAlive;
    this.#handler!.onHead(code);
    if (this.#handler === null) return false;
    if (this.#head || code === 204 || code === 304 || (code >= 100 && code < 200)) {
      this.#finish();
    } else if (chunked) {
      this.#state = State.ChunkSize;
    } else if (length >= 0) {
      this.#remaining = length;
      this.#state = State.Length;
      if (this.#remaining === 0) this.#finish();
    } else {
      this.#keepAlive = false;
      this.#state = State.UntilClose;
    }
    return true;
  }
}

/** Splits a byte stream into `\n`-terminated lines (the xhr transports' framing). */
export class LineSplitter {
  #partial: Buffer | null = null;
  readonly #onLine: (line: Buffer) => void;

  constructor(onLine: (line: Buffer) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Buffer): void {
    const buf = this.#partial === null ? chunk : Buffer.concat([this.#partial, chunk]);
    this.#partial = null;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl === -1) break;
      this.#onLine(buf.subarray(start, nl));
      start = nl + 1;
    }
    // Copy: a slice would pin the whole chunk until the line completes.
    if (start < buf.length) this.#partial = Buffer.from(buf.subarray(start));
  }

  /** Bytes after the last newline: a well-formed response leaves none. */
  get leftover(): number {
    return this.#partial?.length ?? 0;
  }

  reset(): void {
    this.#partial = null;
  }
}
