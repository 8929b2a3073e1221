/**
 * The soak's clients, one interface for every transport: sockjs-client in Node where it has the
 * transport (websocket, xhr-streaming, xhr-polling, eventsource), raw clients for the rest
 * (htmlfile and jsonp-polling over node:http, the raw websocket and SockJS-framed websockets
 * over ws, hixie-76 over a TCP socket). Raw clients can also drop their connection without a
 * goodbye and stop reading (a slow reader).
 */
import http from 'node:http';
import net from 'node:net';
import SockJS from 'sockjs-client';
import { WebSocket } from 'ws';
import { Hixie76Parser } from '../../src/transports/shared/hixie76.js';
import { EXPECTED, KEY1, KEY2 } from '../helpers/hixie76-client.js';

export interface Closed {
  code: number;
  reason: string;
}

export interface SoakClient {
  readonly transport: string;
  /** Resolves once the session is open; rejects if it never opens. */
  readonly opened: Promise<void>;
  readonly closed: Promise<Closed>;
  /** Every message from the server, in order. */
  onMessage: (message: string) => void;
  send(message: string): void;
  /** Closes cleanly (sockjs-client's close(), a websocket close handshake, or just stopping to poll). */
  close(): void;
  /** Drops the connection without a goodbye; undefined where the client cannot. */
  readonly abort?: () => void;
  /** Stops and restarts reading; undefined where the client cannot. */
  readonly pause?: () => void;
  readonly resume?: () => void;
}

/** SockJS frames into messages and a close. */
class FrameSink {
  openedResolve!: () => void;
  openedReject!: (error: Error) => void;
  closedResolve!: (closed: Closed) => void;
  readonly opened = new Promise<void>((resolve, reject) => {
    this.openedResolve = resolve;
    this.openedReject = reject;
  });
  readonly closed = new Promise<Closed>((resolve) => (this.closedResolve = resolve));
  onMessage: (message: string) => void = () => {};
  isClosed = false;

  constructor() {
    this.opened.catch(() => undefined);
  }

  frame(frame: string): void {
    if (this.isClosed) return;
    const type = frame[0];
    if (type === 'o') this.openedResolve();
    else if (type === 'a') for (const message of JSON.parse(frame.slice(1)) as string[]) this.onMessage(message);
    else if (type === 'c') {
      const [code, reason] = JSON.parse(frame.slice(1)) as [number, string];
      this.end(code, reason);
    }
  }

  end(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.openedReject(new Error(`closed before opening: ${code} ${reason}`));
    this.closedResolve({ code, reason });
  }
}

/** sockjs-client itself. */
export function sockjsClient(base: string, transport: string): SoakClient {
  // A fixed connect timeout: the one sockjs-client derives from the /info round trip is too short on a loaded machine.
  const sock = new SockJS(base, null, { transports: [transport], timeout: 10_000 });
  const sink = new FrameSink();
  sock.onopen = () => sink.openedResolve();
  sock.onmessage = (event) => sink.onMessage(String(event.data));
  sock.onclose = (event) => sink.end(event.code, event.reason);
  return {
    transport,
    opened: sink.opened,
    closed: sink.closed,
    set onMessage(listener: (message: string) => void) {
      sink.onMessage = listener;
    },
    get onMessage() {
      return sink.onMessage;
    },
    send: (message) => sock.send(message),
    close: () => sock.close(),
  };
}

/** A SockJS session URL's websocket, framed, over ws. */
export function framedWebsocket(sessionUrl: string): SoakClient {
  const ws = new WebSocket(`${sessionUrl.replace(/^http/, 'ws')}/websocket`);
  const sink = new FrameSink();
  ws.on('message', (data) => sink.frame(String(data)));
  ws.on('close', (code, reason) => sink.end(code === 1005 ? 1000 : code, reason.toString()));
  ws.on('error', () => {});
  return wrap('websocket (ws)', sink, {
    send: (message) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify([message])),
    close: () => ws.close(1000),
    abort: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  });
}

/** The raw websocket: one message per websocket message, no framing. */
export function rawWebsocket(base: string): SoakClient {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/websocket`);
  const sink = new FrameSink();
  ws.on('open', () => sink.openedResolve());
  ws.on('message', (data) => sink.onMessage(String(data)));
  ws.on('close', (code, reason) => sink.end(code === 1005 ? 1000 : code, reason.toString()));
  ws.on('error', () => {});
  return wrap('raw websocket', sink, {
    send: (message) => ws.readyState === WebSocket.OPEN && ws.send(message),
    close: () => ws.close(1000),
    abort: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  });
}

/** hixie-76 over a TCP socket, as HAProxy-era clients spoke it. */
export function hixie76(sessionUrl: string): SoakClient {
  const url = new URL(`${sessionUrl}/websocket`);
  const sink = new FrameSink();
  const socket = net.connect(Number(url.port), url.hostname);
  socket.setNoDelay(true);
  let state: 'head' | 'challenge' | 'frames' = 'head';
  let buffer = Buffer.alloc(0);
  const parser = new Hixie76Parser(1 << 24, (text) => sink.frame(text));
  socket.on('connect', () => {
    socket.write(
      `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nOrigin: ${url.origin}\r\n` +
        `Sec-WebSocket-Key1: ${KEY1}\r\nSec-WebSocket-Key2: ${KEY2}\r\n\r\n`,
    );
  });
  socket.on('data', (chunk: Buffer) => {
    if (state === 'frames') {
      if (!parser.push(chunk)) socket.destroy();
      return;
    }
    buffer = Buffer.concat([buffer, chunk]);
    if (state === 'head') {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      if (!buffer.subarray(0, end).toString('latin1').startsWith('HTTP/1.1 101')) {
        socket.destroy();
        return;
      }
      buffer = buffer.subarray(end + 4);
      state = 'challenge';
      socket.write('aaaaaaaa');
    }
    if (state === 'challenge' && buffer.length >= 16) {
      if (!buffer.subarray(0, 16).equals(EXPECTED)) {
        socket.destroy();
        return;
      }
      state = 'frames';
      const rest = buffer.subarray(16);
      buffer = Buffer.alloc(0);
      if (rest.length && !parser.push(rest)) socket.destroy();
    }
  });
  socket.on('close', () => sink.end(parser.closed ? 1000 : 1006, parser.closed ? '' : 'connection dropped'));
  socket.on('error', () => {});
  const frame = (text: string): Buffer => Buffer.concat([Buffer.from([0x00]), Buffer.from(text, 'utf8'), Buffer.from([0xff])]);
  return wrap('hixie-76', sink, {
    send: (message) => state === 'frames' && socket.write(frame(JSON.stringify([message]))),
    close: () => socket.end(Buffer.from([0xff, 0x00])),
    abort: () => socket.destroy(),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  });
}

/** Frames out of a receiving response, by transport. */
const FRAMES: Record<'htmlfile' | 'jsonp' | 'eventsource', RegExp> = {
  htmlfile: /<script>\np\(("(?:[^"\\]|\\.)*")\);\n<\/script>\r\n/g,
  jsonp: /\/\*\*\/cb\(("(?:[^"\\]|\\.)*")\);\r\n/g,
  eventsource: /data: ([^\r]*)\r\n\r\n/g,
};

/**
 * An HTTP transport spoken over node:http: a receiving request at a time (a new one when a
 * poll or a stream ends), and sends one request at a time, batching what waits, as
 * sockjs-client's BufferedSender does.
 */
export function httpSession(sessionUrl: string, transport: 'htmlfile' | 'jsonp-polling' | 'eventsource'): SoakClient {
  const sink = new FrameSink();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const kind = transport === 'jsonp-polling' ? 'jsonp' : transport;
  const receivePath = kind === 'eventsource' ? '/eventsource' : `/${kind}?c=cb`;
  let response: http.IncomingMessage | undefined;
  let request: http.ClientRequest | undefined;
  let paused = false;
  let stopped = false;

  const finish = (code: number, reason: string): void => {
    stopped = true;
    request?.destroy();
    sink.end(code, reason);
    agent.destroy();
  };

  const receive = (): void => {
    if (stopped || sink.isClosed) return;
    let text = '';
    const req = http.request(`${sessionUrl}${receivePath}`, { method: 'GET', agent }, (res) => {
      response = res;
      if (paused) res.pause();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        const pattern = FRAMES[kind];
        pattern.lastIndex = 0;
        let match: RegExpExecArray | null;
        let consumed = 0;
        while ((match = pattern.exec(text)) !== null) {
          const raw = match[1]!;
          sink.frame(kind === 'eventsource' ? decodeURIComponent(raw) : (JSON.parse(raw) as string));
          consumed = pattern.lastIndex;
        }
        text = text.slice(consumed);
      });
      res.on('end', () => {
        response = undefined;
        // A poll answered, or a stream at its response limit: the next request follows.
        receive();
      });
      res.on('error', () => {});
    });
    request = req;
    req.on('error', () => {
      if (!stopped) finish(1006, 'receiving request failed');
    });
    req.end();
  };

  let sending = false;
  const waiting: string[] = [];
  const flush = (): void => {
    if (sending || waiting.length === 0 || stopped) return;
    sending = true;
    const payload = JSON.stringify(waiting.splice(0));
    const jsonp = kind === 'jsonp';
    const body = jsonp ? new URLSearchParams({ d: payload }).toString() : payload;
    const req = http.request(
      `${sessionUrl}/${jsonp ? 'jsonp_send' : 'xhr_send'}`,
      { method: 'POST', agent, headers: { 'Content-Type': jsonp ? 'application/x-www-form-urlencoded' : 'text/plain', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => {
          sending = false;
          if (res.statusCode !== 200 && res.statusCode !== 204) finish(1006, `send answered ${res.statusCode}`);
          else flush();
        });
      },
    );
    req.on('error', () => {
      if (!stopped) finish(1006, 'send failed');
    });
    req.end(body);
  };

  receive();
  return wrap(transport, sink, {
    send: (message) => {
      waiting.push(message);
      flush();
    },
    // An HTTP client leaves by no longer polling: the server times the session out.
    close: () => finish(1000, ''),
    abort: () => finish(1006, 'aborted'),
    pause: () => {
      paused = true;
      response?.pause();
    },
    resume: () => {
      paused = false;
      response?.resume();
    },
  });
}

function wrap(transport: string, sink: FrameSink, methods: Pick<SoakClient, 'close' | 'abort' | 'pause' | 'resume'> & { send: (message: string) => unknown }): SoakClient {
  return {
    transport,
    opened: sink.opened,
    closed: sink.closed,
    set onMessage(listener: (message: string) => void) {
      sink.onMessage = listener;
    },
    get onMessage() {
      return sink.onMessage;
    },
    send: (message) => void methods.send(message),
    close: methods.close,
    abort: methods.abort,
    pause: methods.pause,
    resume: methods.resume,
  };
}
