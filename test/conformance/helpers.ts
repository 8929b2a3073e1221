/**
 * Clients for the conformance tests: plain HTTP requests (node:http, one connection each), a raw
 * HTTP connection on `net` for exact bytes (HTTP/1.0, chunk boundaries, streaming reads), and a
 * websocket client with a message queue. Everything here closes what it opens.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import assert from 'node:assert/strict';
import { WebSocket, type ClientOptions } from 'ws';
import { startConformanceServer, type ConformanceOptions, type ConformanceServer } from '../server/conformance-server.js';

export { startConformanceServer, type ConformanceServer };

/** A fresh session path part: `/000/<uuid>`. */
export function sessionPart(): string {
  return `/000/${randomUUID()}`;
}

/** The store key of a session URL (the client's session id), for waiting on server state. */
export function sessionKey(sessionUrl: string): string {
  return sessionUrl.split('/').at(-1)!;
}

/**
 * Starts the conformance server on a free port. With KOA_SOCKJS_TEST_REDIS=<redis URL> in the
 * environment every route gets a RedisStore instead (test/redis/conformance.test.ts runs the
 * suite that way).
 */
export async function startServer(options: ConformanceOptions = {}): Promise<ConformanceServer> {
  const redisUrl = process.env.KOA_SOCKJS_TEST_REDIS;
  if (redisUrl && options.store === undefined) {
    const { RedisStore } = await import('../../src/store/redis/index.js');
    const namespace = `conformance:${randomUUID()}:`;
    options = { ...options, store: (route) => new RedisStore({ url: redisUrl, keyPrefix: `${namespace}${route}:` }) };
  }
  return startConformanceServer({ port: 0, sockjsUrl: 'http://localhost/sockjs.js', ...options });
}

export interface HttpResult {
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string | undefined>;
  body: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A request on its own connection; resolves with the whole response. */
export function request(method: string, url: string, options: RequestOptions = {}): Promise<HttpResult> {
  return startRequest(method, url, options).response;
}

export const GET = (url: string, options?: RequestOptions): Promise<HttpResult> => request('GET', url, options);
export const POST = (url: string, options?: RequestOptions): Promise<HttpResult> => request('POST', url, options);
export const OPTIONS = (url: string, options?: RequestOptions): Promise<HttpResult> => request('OPTIONS', url, options);

export interface PendingRequest {
  response: Promise<HttpResult>;
  /** Drops the connection (the client going away mid-request). */
  abort(): void;
}

/** Starts a request; `abort()` drops it. */
export function startRequest(method: string, url: string, options: RequestOptions = {}): PendingRequest {
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (method === 'POST' || body !== undefined) headers['Content-Length'] = String(body?.length ?? 0);
  const req = http.request(url, { method, headers, agent: false });
  const response = new Promise<HttpResult>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: flatHeaders(res.headers), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  req.end(body);
  return {
    response,
    abort() {
      response.catch(() => {});
      req.destroy();
    },
  };
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

/** Waits until `condition()` holds, checking on each turn of the event loop. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Waits until the server holds a receiving connection for the session (a pending poll). */
export async function untilReceiving(server: ConformanceServer, prefix: string, sessionUrl: string): Promise<void> {
  const store = server.routes.get(prefix)!.manager.store;
  const key = sessionKey(sessionUrl);
  const deadline = Date.now() + 5000;
  // A networked store (Redis) answers with a promise.
  while ((await store.get(key))?.receiver === undefined) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for a receiver on ${sessionUrl}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export interface ResponseHead {
  httpVersion: string;
  status: number;
  headers: Record<string, string>;
}

/**
 * One HTTP connection on a raw socket: write a request, then read the response head, exact byte
 * counts, or chunks exactly as the server wrote them.
 */
export class RawHttpConnection {
  readonly socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #ended = false;
  #wake: (() => void) | undefined;
  readonly #connected: Promise<void>;

  constructor(readonly url: URL) {
    this.socket = net.connect(Number(url.port), url.hostname);
    this.#connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    this.socket.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
    this.socket.on('error', () => {});
  }

  static async open(url: string): Promise<RawHttpConnection> {
    const connection = new RawHttpConnection(new URL(url));
    await connection.#connected;
    return connection;
  }

  /** Writes a request; `Host` is added, and `Content-Length` when there is a body. */
  send(method: string, path: string, options: { http?: '1.0' | '1.1'; headers?: Record<string, string>; body?: string } = {}): void {
    const lines = [`${method} ${path} HTTP/${options.http ?? '1.1'}`, `Host: ${this.url.host}`];
    for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`${name}: ${value}`);
    if (options.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(options.body)}`);
    this.socket.write(lines.join('\r\n') + '\r\n\r\n' + (options.body ?? ''));
  }

  /** Writes raw bytes (a hixie-76 nonce, a frame). */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async request(method: string, path: string, options: Parameters<RawHttpConnection['send']>[2] = {}): Promise<ResponseHead> {
    this.send(method, path, options);
    return this.readHead();
  }

  async readHead(): Promise<ResponseHead> {
    let end: number;
    while ((end = this.#buffer.indexOf('\r\n\r\n')) === -1) await this.#more('a response head');
    const head = this.#take(end + 4).toString('latin1');
    const [statusLine, ...lines] = head.trimEnd().split('\r\n');
    const match = /^HTTP\/(\d\.\d) (\d{3})/.exec(statusLine!);
    assert.ok(match, `bad status line ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    return { httpVersion: match[1]!, status: Number(match[2]), headers };
  }

  /** Exactly n bytes, or fewer if the connection closed first. */
  async read(n: number): Promise<Buffer> {
    while (this.#buffer.length < n && !this.#ended) await this.#more(`${n} bytes`);
    return this.#take(Math.min(n, this.#buffer.length));
  }

  /** Whatever arrives next (at least a byte), or '' once the connection closed. */
  async readSome(): Promise<Buffer> {
    while (this.#buffer.length === 0 && !this.#ended) await this.#more('some bytes');
    return this.#take(this.#buffer.length);
  }

  /** One chunk of a chunked body, as the server wrote it; '' for the last chunk. */
  async readChunk(): Promise<string> {
    let lineEnd: number;
    while ((lineEnd = this.#buffer.indexOf('\r\n')) === -1) {
      if (this.#ended) throw new Error('connection closed before a chunk');
      await this.#more('a chunk size');
    }
    const size = parseInt(this.#take(lineEnd + 2).toString('latin1'), 16);
    const data = await this.read(size + 2);
    assert.equal(data.subarray(size).toString('latin1'), '\r\n', 'chunk must end with CRLF');
    return data.subarray(0, size).toString('utf8');
  }

  /** Everything until the server closes the connection. */
  async readToEnd(): Promise<string> {
    while (!this.#ended) await this.#more('the end of the connection');
    return this.#take(this.#buffer.length).toString('utf8');
  }

  /** Resolves true once the server closed the connection (nothing more to read). */
  async closed(): Promise<boolean> {
    const rest = await this.readToEnd();
    return rest.length === 0;
  }

  close(): void {
    this.socket.destroy();
  }

  #take(n: number): Buffer {
    const taken = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return taken;
  }

  #more(what: string): Promise<void> {
    if (this.#ended) return Promise.reject(new Error(`connection closed while waiting for ${what}`));
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

/**
 * A streaming HTTP/1.1 response read chunk by chunk, like the protocol suite's `POST_async`/
 * `GET_async`: `read()` returns the next chunk the server wrote, '' at the end.
 */
export class StreamingResponse {
  private constructor(
    readonly connection: RawHttpConnection,
    readonly head: ResponseHead,
  ) {}

  static async open(method: string, url: string, headers: Record<string, string> = {}): Promise<StreamingResponse> {
    const parsed = new URL(url);
    const connection = await RawHttpConnection.open(url);
    const head = await connection.request(method, parsed.pathname + parsed.search, {
      headers: method === 'POST' ? { 'Content-Length': '0', ...headers } : headers,
    });
    return new StreamingResponse(connection, head);
  }

  get status(): number {
    return this.head.status;
  }

  header(name: string): string | undefined {
    return this.head.headers[name.toLowerCase()];
  }

  /** The next chunk; '' once the response ended (or the connection closed). */
  async read(): Promise<string> {
    if (this.head.headers['transfer-encoding'] !== 'chunked') return (await this.connection.readSome()).toString('utf8');
    try {
      return await this.connection.readChunk();
    } catch {
      return '';
    }
  }

  close(): void {
    this.connection.close();
  }
}

/** A websocket client whose messages are awaited in order. */
export class WsClient {
  readonly messages: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #wake: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.messages.push(data.toString('utf8'));
      this.#wake?.();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.#wake?.();
        resolve({ code, reason: reason.toString('utf8') });
      });
    });
    ws.on('error', () => {});
  }

  static async open(url: string, options: ClientOptions = {}): Promise<WsClient> {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), options);
    const client = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return client;
  }

  /** The next message; undefined once the connection closed. */
  async recv(): Promise<string | undefined> {
    while (this.messages.length === 0) {
      if (this.ws.readyState === WebSocket.CLOSED) return undefined;
      await new Promise<void>((resolve) => {
        this.#wake = () => {
          this.#wake = undefined;
          resolve();
        };
      });
    }
    return this.messages.shift();
  }

  send(text: string): void {
    this.ws.send(text);
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}
