/** What the load generator's scenarios share. */
import { maskedFrame, WsClient, type WsHandlers } from './ws-client.js';
import { countMessages, decodeMessages, describe, FRAME_ARRAY, FRAME_CLOSE, FRAME_HEARTBEAT, FRAME_OPEN } from './sockjs-frames.js';

/**
 * `sockjs`: SockJS framing over the transport; `raw`: plain websocket messages (the ws server);
 * `socketio`: Socket.IO 4 (Engine.IO 4) over a websocket, each message one `message` event.
 */
export type Protocol = 'sockjs' | 'raw' | 'socketio';

export interface LoadParams {
  port: number;
  /** Every port of a server of several processes (no balancer): sessions are spread over them. */
  ports: number[];
  /** Rooms the sessions are spread over (rooms scenario). */
  rooms: number;
  /** Rooms scenario: 1 puts all members of a room on one process (room r on process r % processes). */
  split: number;
  /** Rooms scenario: 1 sends one message at a time, the next once its room has it (nothing coalesces). */
  paced: number;
  protocol: Protocol;
  /** Decode every message and check its content and order. */
  verify: boolean;
  sessions: number;
  /** Messages in flight per session (websocket echo). */
  inflight: number;
  durationSec: number;
  warmupSec: number;
  /** Messages per broadcast burst. */
  messages: number;
  bursts: number;
  /** Connections opened at once (setup of many sessions, connection-setup loops). */
  concurrency: number;
  /** xhr-streaming: messages requested ahead, and per flood command. */
  window: number;
  batch: number;
  /** idle-receivers: the receiving transport, `xhr_streaming` or `eventsource`. */
  transport: string;
}

export interface ServerMem {
  rss: number;
  heapUsed: number;
  external: number;
  /** Committed size of V8's young generation (bench/servers/common.ts). */
  youngGen: number;
}

/** The load generator's line to the orchestrator (no-ops when run by hand). */
export interface Control {
  /** Marks the start or end of the measured window: the orchestrator samples the server's CPU then. */
  mark(phase: 'start' | 'end'): void;
  /** Asks the server to garbage-collect and report its memory; null when there is no orchestrator. */
  serverMem(): Promise<ServerMem | null>;
}

export interface ScenarioResult {
  ok: boolean;
  errors: string[];
  metrics: Record<string, number>;
  /** Operations counted in the measured window (messages, deliveries, sessions, requests): server CPU per operation is derived from it. */
  ops?: number;
  /** Extra numbers worth keeping in the raw JSON (per-burst times and so on). */
  details?: Record<string, unknown>;
}

/** Collects failures; keeps the first few messages and counts the rest. */
export class Failures {
  readonly list: string[] = [];
  count = 0;

  add(message: string): void {
    this.count++;
    if (this.list.length < 20) this.list.push(message);
  }

  get any(): boolean {
    return this.count > 0;
  }

  summary(): string[] {
    return this.count > this.list.length ? [...this.list, `… and ${this.count - this.list.length} more`] : this.list;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const RUN_TAG = Math.random().toString(36).slice(2, 8);
let sessionCounter = 0;

/** A session id unique in this process (sockjs-node keeps one id map for all its servers). */
export function newSessionId(): string {
  return `${RUN_TAG}${(sessionCounter++).toString(36)}`;
}

export function wsPath(prefix: string, protocol: Protocol, sessionId: string): string {
  if (protocol === 'socketio') return `${prefix}/?EIO=4&transport=websocket`; // one Socket.IO server per route, on its own path
  return protocol === 'sockjs' ? `${prefix}/000/${sessionId}/websocket` : prefix;
}

export function xhrPath(prefix: string, sessionId: string, transport: 'xhr' | 'xhr_send' | 'xhr_streaming'): string {
  return `${prefix}/000/${sessionId}/${transport}`;
}

export interface SessionEvents {
  /** The session is open: SockJS sent `o`, or (raw) the upgrade completed. */
  onOpen(client: WsClient): void;
  /** `count` messages arrived in `payload` (a SockJS `a[...]` frame, or one raw message). */
  onMessages(client: WsClient, payload: Buffer, count: number): void;
  onClose(client: WsClient, error: Error | null): void;
}

/** Adapts SockJS (or raw) websocket traffic to session events. */
export function sessionHandlers(protocol: Protocol, events: SessionEvents, failures: Failures): WsHandlers {
  if (protocol === 'socketio') return socketioHandlers(events, failures);
  if (protocol === 'raw') {
    return {
      onUpgrade: (client) => events.onOpen(client),
      onMessage: (client, payload) => events.onMessages(client, payload, 1),
      onClose: (client, error) => events.onClose(client, error),
    };
  }
  return {
    onUpgrade: () => {},
    onMessage: (client, payload) => {
      switch (payload[0]) {
        case FRAME_ARRAY:
          events.onMessages(client, payload, countMessages(payload));
          break;
        case FRAME_HEARTBEAT:
          break;
        case FRAME_OPEN:
          if (payload.length !== 1) failures.add(`session ${client.index}: bad open frame ${describe(payload)}`);
          events.onOpen(client);
          break;
        case FRAME_CLOSE:
          failures.add(`session ${client.index}: server closed the session: ${describe(payload)}`);
          client.destroy();
          break;
        default:
          failures.add(`session ${client.index}: unknown SockJS frame ${describe(payload)}`);
      }
    },
    onClose: (client, error) => events.onClose(client, error),
  };
}

const SIO_CONNECT = maskedFrame('40'); // Socket.IO CONNECT to the main namespace
const SIO_PONG = maskedFrame('3'); // Engine.IO PONG
const CH_0 = 0x30;
const CH_2 = 0x32;
const CH_4 = 0x34;

/**
 * Socket.IO 4 over a websocket (Engine.IO 4, `transport=websocket` from the start): the server
 * opens with `0{...}` (Engine.IO OPEN), the client connects to the main namespace with `40`,
 * the server answers `40{"sid":...}` (the session is open); a message is `42["m","<text>"]`
 * (an EVENT); the server pings with `2`, the client answers `3`.
 */
function socketioHandlers(events: SessionEvents, failures: Failures): WsHandlers {
  return {
    onUpgrade: () => {},
    onMessage: (client, payload) => {
      const c0 = payload[0];
      if (c0 === CH_4) {
        const c1 = payload[1];
        if (c1 === CH_2) events.onMessages(client, payload, 1);
        else if (c1 === CH_0) events.onOpen(client);
        else failures.add(`session ${client.index}: unexpected Socket.IO packet ${describe(payload)}`);
      } else if (c0 === CH_0) client.write(SIO_CONNECT);
      else if (c0 === CH_2) client.write(SIO_PONG);
      else failures.add(`session ${client.index}: unexpected Engine.IO packet ${describe(payload)}`);
    },
    onClose: (client, error) => events.onClose(client, error),
  };
}

/** The messages of one received payload, decoded (the `--verify` path). */
export function decodePayload(protocol: Protocol, payload: Buffer): unknown[] {
  if (protocol === 'socketio') {
    const event: unknown = JSON.parse(payload.toString('utf8', 2));
    if (!Array.isArray(event) || event[0] !== 'm') throw new Error(`not a Socket.IO "m" event: ${describe(payload)}`);
    return event.slice(1);
  }
  return protocol === 'raw' ? [payload.toString('utf8')] : decodeMessages(payload);
}

/** The payload a client sends for one message. */
export function encodePayload(protocol: Protocol, message: string): string {
  if (protocol === 'socketio') return `42${JSON.stringify(['m', message])}`;
  return protocol === 'raw' ? message : JSON.stringify([message]);
}

/** Where a message's first byte sits inside its client payload. */
export function messageOffset(protocol: Protocol): number {
  if (protocol === 'socketio') return 8; // after `42["m","`
  return protocol === 'raw' ? 0 : 2; // after `["`
}

/**
 * Opens `count` websocket sessions, `concurrency` handshakes at a time, and
 * resolves once every one is open. Rejects when one fails or when
 * `timeoutMs` passes: an overloaded server must not hang the bench.
 */
export function openSessions(
  count: number,
  concurrency: number,
  timeoutMs: number,
  create: (index: number, opened: () => void, failed: (error: Error) => void) => WsClient,
): Promise<WsClient[]> {
  return new Promise((resolve, reject) => {
    const clients: WsClient[] = [];
    let started = 0;
    let opened = 0;
    let done = false;
    const timer = setTimeout(() => {
      fail(new Error(`only ${opened} of ${count} sessions opened within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const client of clients) client.destroy();
      reject(error);
    };
    const startNext = (): void => {
      if (done || started >= count) return;
      const index = started++;
      let counted = false;
      clients[index] = create(
        index,
        () => {
          if (counted || done) return;
          counted = true;
          opened++;
          if (opened === count) {
            done = true;
            clearTimeout(timer);
            resolve(clients);
          } else startNext();
        },
        (error) => fail(new Error(`session ${index} failed while opening: ${error.message}`)),
      );
    };
    for (let i = 0; i < Math.min(concurrency, count); i++) startNext();
    if (count === 0) {
      done = true;
      clearTimeout(timer);
      resolve(clients);
    }
  });
}

/**
 * The timed part of a scenario: warm up for `warmupSec`, then `begin()` resets the counters and
 * the measured window runs for `durationSec`. Returns the window's real length in seconds.
 */
export async function measureWindow(control: Control, warmupSec: number, durationSec: number, begin: () => void): Promise<number> {
  await sleep(warmupSec * 1000);
  begin();
  control.mark('start');
  const t0 = performance.now();
  await sleep(durationSec * 1000);
  const t1 = performance.now();
  control.mark('end');
  return (t1 - t0) / 1000;
}
