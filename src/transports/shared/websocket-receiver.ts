/** Receiver over a websocket connection (ws). Frames go out as text messages. */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { logger } from '../../log.js';
import { whenFlushed } from '../../session/drain.js';
import type { TimerHandle, Timers } from '../../timers.js';
import type { AbortListener, Receiver } from '../../session/receiver.js';
import { isTooLarge } from './websocket-upgrade.js';
import { textFrame, textFrameOf } from './ws-frame.js';

const log = logger('websocket');

/** Shared send options: a Buffer frame (a broadcast) still goes out as a text message. */
const AS_TEXT = { binary: false } as const;

/** Where a websocket's incoming messages go, once its session is open (see `sink`). */
export interface MessageSink {
  /** One text message of `bytes` bytes; false drops the connection (broken SockJS framing). */
  take(text: string, bytes: number): boolean;
  /** A message over `maxMessageSize` was refused (ws closes the connection with 1009 itself). */
  tooLarge(): void;
}

/** Where a websocket's listeners (shared by every connection) find its receiver. */
const kReceiver = Symbol('koa-sockjs.websocketReceiver');

type ReceiverCarrier = WebSocket & { [kReceiver]: WebsocketReceiver };

export class WebsocketReceiver implements Receiver {
  abortListener: AbortListener | undefined;
  /**
   * Takes the client's messages; set by the transport in the tick the session opens (ws emits
   * no message before the next one). An object rather than closures: a session keeps it as long
   * as its connection, and every closure and scope it holds is memory per idle session.
   */
  sink: MessageSink | undefined;
  /** True once the session layer ended the receiver or the client closed the websocket. */
  protected ended = false;
  /** The deadline of the ping waiting for its pong, if any (see `ping`). */
  #pongDue: { timers: Timers; handle: TimerHandle; onPong: () => void } | undefined;
  /** Reading is paused (see `pause`): a pong would wait unread in the socket. */
  #paused = false;
  /** The socket `send` writes whole frames to, when it may bypass ws (see `send`). */
  readonly #direct: Duplex | undefined;

  /**
   * ws calls its listeners on the WebSocket, which carries its receiver (`kReceiver`): one set of
   * listeners for every connection, instead of three closures and their scope per connection
   * (idle memory, issue 17). Made per connection where the transport handles the request, they
   * would also keep the Koa context alive as long as the socket.
   */
  static readonly #onClose = function (this: WebSocket): void {
    const receiver = (this as ReceiverCarrier)[kReceiver];
    receiver.stopPinging();
    if (receiver.ended) return;
    receiver.ended = true;
    receiver.abortListener?.receiverAborted(receiver);
  };

  static readonly #onMessage = function (this: WebSocket, data: unknown): void {
    // binaryType is 'nodebuffer', so data is one Buffer; SockJS frames are UTF-8 text.
    const sink = (this as ReceiverCarrier)[kReceiver].sink;
    if (sink && !sink.take((data as Buffer).toString('utf8'), (data as Buffer).length)) this.terminate();
  };

  static readonly #onError = function (this: WebSocket, error: Error): void {
    if (isTooLarge(error)) (this as ReceiverCarrier)[kReceiver].sink?.tooLarge();
    log('websocket error: %O', error);
  };

  /**
   * @param socket the connection under `ws` (the upgraded request's socket), for `onceFlushed`
   */
  constructor(
    readonly transport: string,
    readonly ws: WebSocket,
    readonly socket?: Duplex,
  ) {
    (ws as ReceiverCarrier)[kReceiver] = this;
    ws.on('close', WebsocketReceiver.#onClose);
    ws.on('message', WebsocketReceiver.#onMessage);
    ws.on('error', WebsocketReceiver.#onError);
    // Negotiated in the handshake, so fixed from here on. Without permessage-deflate ws's Sender
    // never holds a frame back (it queues only while compressing, or reading a Blob, which
    // nothing here sends): each ws.send, ping, pong and close goes to the socket as it is called,
    // so frames written to the socket directly keep their order with ws's own.
    this.#direct = socket !== undefined && ws.extensions === '' ? socket : undefined;
  }

  /**
   * Sends ws's ping; without a pong within `timeoutMs` the peer is taken for dead (gone without
   * a FIN, or a half-open connection nothing is read from) and the socket is destroyed: ws then
   * emits 'close', and the session ends as interrupted. One ping waits for its pong at a time.
   * Not while reading is paused: the peer's pong would sit unread behind its messages, and a
   * live client would be dropped for the server's own slowness.
   */
  ping(timers: Timers, timeoutMs: number): void {
    if (this.#pongDue || this.#paused || !this.writable) return;
    // Listened for only while a ping waits: an idle connection keeps one listener less.
    const onPong = (): void => this.stopPinging();
    const handle = timers.setTimeout(() => {
      this.ws.off('pong', onPong);
      this.#pongDue = undefined;
      log('no pong within %d ms: dropping the connection', timeoutMs);
      this.ws.terminate();
      // Now, not on ws's 'close' (a tick later): a heartbeat due at the same moment would find
      // the socket closing and detach the session from it before the close could be reported.
      if (this.ended) return;
      this.ended = true;
      this.abortListener?.receiverAborted(this);
    }, timeoutMs);
    this.ws.on('pong', onPong);
    this.#pongDue = { timers, handle, onPong };
    this.ws.ping();
  }

  /** No pong is awaited any more: it came, or the connection is ending. */
  protected stopPinging(): void {
    const due = this.#pongDue;
    if (!due) return;
    this.#pongDue = undefined;
    this.ws.off('pong', due.onPong);
    due.timers.clearTimeout(due.handle);
  }

  get backlog(): number {
    return this.ws.bufferedAmount;
  }

  /**
   * Stops reading (too much waits for onMessage). A ping waiting for its pong stops waiting:
   * nothing is read, so its pong could not be seen; the next heartbeat after `resume` pings again.
   */
  pause(): void {
    this.#paused = true;
    this.stopPinging();
    this.ws.pause();
  }

  resume(): void {
    this.#paused = false;
    this.ws.resume();
  }

  onceFlushed(callback: () => void): void {
    if (this.socket) whenFlushed(this.socket, callback);
    else setImmediate(callback);
  }

  protected get writable(): boolean {
    return !this.ended && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Without permessage-deflate the frame is built whole here and written to the socket: the
   * bytes ws.send would write (test/unit/ws-frame.test.ts), in one write instead of ws's header
   * and payload pieces, with none of ws.send's per-call option objects and byte counting (1.4 µs
   * of a 7 µs echo in an in-memory profile, issue 17). A broadcast's frame is built once for all
   * its recipients (`textFrameOf`). With compression, ws frames and compresses it.
   */
  send(frame: string | Buffer): boolean {
    if (!this.writable) return false;
    const direct = this.#direct;
    if (direct !== undefined) direct.write(typeof frame === 'string' ? textFrame(frame) : textFrameOf(frame));
    else if (typeof frame === 'string') this.ws.send(frame);
    else this.ws.send(frame, AS_TEXT);
    return true;
  }

  end(frame?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.stopPinging();
    if (frame !== undefined && this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
    this.ws.close(1000);
  }
}
