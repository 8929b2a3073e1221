/** What the load generator's scenarios share. */
import { WsClient, type WsHandlers } from './ws-client.js';
import { countMessages, decodeMessages, describe, FRAME_ARRAY, FRAME_CLOSE, FRAME_HEARTBEAT, FRAME_OPEN } from './sockjs-frames.js';

/** `sockjs`: SockJS framing over the transport; `raw`: plain websocket messages (the ws server). */
export type Protocol = 'sockjs' | 'raw';

export interface LoadParams {
  port: number;
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
}

export interface ServerMem {
  rss: number;
  heapUsed: number;
  external: number;
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

/** The messages of one received payload, decoded (the `--verify` path). */
export function decodePayload(protocol: Protocol, payload: Buffer): unknown[] {
  return protocol === 'raw' ? [payload.toString('utf8')] : decodeMessages(payload);
}

/** The payload a client sends for one message. */
export function encodePayload(protocol: Protocol, message: string): string {
  return protocol === 'raw' ? message : JSON.stringify([message]);
}

/** Where a message's first byte sits inside its client payload. */
export function messageOffset(protocol: Protocol): number {
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
