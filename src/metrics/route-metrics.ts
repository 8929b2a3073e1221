/**
 * RouteMetrics: what one route records, both as OpenTelemetry instruments (a no-op until the
 * application installs an SDK) and as plain counters behind `manager.stats()`.
 *
 * The websocket hot path calls `received`/`sent` once per frame, so those calls only add to
 * plain numbers kept per transport: the message and byte counters are observable instruments
 * whose callback reports those numbers when the SDK collects. Adding to a synchronous SDK
 * counter hashes its attributes on every call (about 1 µs each, four per websocket echo: a
 * third of what the whole echo costs the server), where a collection runs every few seconds.
 */
import {
  metrics,
  ValueType,
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  type Histogram,
  type MeterProvider,
  type UpDownCounter,
} from '@opentelemetry/api';
import { ATTR, METER_NAME, METRIC, REFUSAL_REASONS, SESSION_DURATION_BUCKETS, STORE_DURATION_BUCKETS, type RefusalReason } from './names.js';

/** A point-in-time view of one route's activity in this process; see `SessionManager.stats()`. */
export interface SockjsStats {
  /** The route's name. */
  readonly route: string;
  /** Sessions of this process: now, and counted since start. */
  readonly sessions: {
    /** Sessions this process holds now. */
    readonly open: number;
    /** `open`, by the transport that opened each session. */
    readonly openByTransport: Readonly<Record<string, number>>;
    /** Sessions opened since start (onOpen ran). */
    readonly created: number;
    /** Sessions ended since start. */
    readonly closed: number;
    /** `closed`, by close code (`none`: timed out with no connection to send a close frame to). */
    readonly closedByCode: Readonly<Record<string, number>>;
    /** Sessions left open to other processes at shutdown (not in `closed`), since start. */
    readonly handedOver: number;
    /**
     * Sessions taken over from another process (not in `created`), since start: `open` is
     * `created + adopted - closed - handedOver`.
     */
    readonly adopted: number;
  };
  /** SockJS messages received from and sent to clients. */
  readonly messages: {
    /** Messages delivered to `onMessage`, since start. */
    readonly received: number;
    /** Messages sent to clients (each recipient of a broadcast counts), since start. */
    readonly sent: number;
  };
  /**
   * Bytes received (HTTP send bodies, websocket message payloads) and sent (SockJS frames): the
   * payloads, not the bytes on the wire (no headers, counted before permessage-deflate).
   */
  readonly bytes: {
    /** Bytes received from clients, since start. */
    readonly received: number;
    /** Bytes of frames written to clients, since start. */
    readonly sent: number;
  };
  /** Receiving connections attached to sessions. */
  readonly receiversAttached: number;
  /** Calls to the route's store, since start. */
  readonly store: {
    /** Store operations started. */
    readonly operations: number;
    /** Store operations that threw or rejected. */
    readonly failures: number;
    /** Records the store dropped by itself (capacity eviction). */
    readonly evictions: number;
  };
  /** Refused requests and connections, by reason. */
  readonly refusals: Readonly<Record<RefusalReason, number>>;
}

/** The pre-built attributes and counts of one transport on one route. */
export class TransportMeter {
  readonly attributes: Attributes;
  readonly receiveAttributes: Attributes;
  readonly transmitAttributes: Attributes;
  open = 0;
  /** Messages and bytes received and sent on this transport (reported by the observable counters). */
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;

  constructor(route: string, readonly transport: string) {
    this.attributes = { [ATTR.route]: route, [ATTR.transport]: transport };
    this.receiveAttributes = { ...this.attributes, [ATTR.direction]: 'receive' };
    this.transmitAttributes = { ...this.attributes, [ATTR.direction]: 'transmit' };
  }
}

function errorType(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const { code } = error as { code?: unknown };
    if (typeof code === 'string' && code) return code;
    const name = (error as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && name) return name;
  }
  return '_OTHER';
}

export class RouteMetrics {
  readonly route: string;
  readonly #transports = new Map<string, TransportMeter>();
  readonly #closeAttributes = new Map<string, Attributes>();
  readonly #storeAttributes = new Map<string, Attributes>();
  readonly #refusalAttributes: Record<RefusalReason, Attributes>;
  readonly #routeAttributes: Attributes;

  readonly #active: UpDownCounter;
  readonly #created: Counter;
  readonly #closed: Counter;
  readonly #handedOver: Counter;
  readonly #adopted: Counter;
  readonly #duration: Histogram;
  readonly #receivers: Counter;
  readonly #refusals: Counter;
  readonly #storeDuration: Histogram;
  readonly #evictions: Counter;

  #createdCount = 0;
  #closedCount = 0;
  #handedOverCount = 0;
  #adoptedCount = 0;
  readonly #closedByCode: Record<string, number> = {};
  #messagesIn = 0;
  #messagesOut = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #receiverCount = 0;
  #storeOperations = 0;
  #storeFailures = 0;
  #evictionCount = 0;
  readonly #refused: Record<RefusalReason, number> = { origin: 0, authorization: 0, limit: 0, size: 0, draining: 0 };

  /**
   * @param route the route's name, the `sockjs.route` attribute of everything recorded
   * @param provider where instruments come from; the global one (a no-op unless the application
   *   registered an SDK before creating the route) by default
   */
  constructor(route: string, provider: MeterProvider = metrics.getMeterProvider()) {
    this.route = route;
    this.#routeAttributes = { [ATTR.route]: route };
    const refusals: Partial<Record<RefusalReason, Attributes>> = {};
    for (const reason of REFUSAL_REASONS) refusals[reason] = { [ATTR.route]: route, [ATTR.refusalReason]: reason };
    this.#refusalAttributes = refusals as Record<RefusalReason, Attributes>;

    const meter = provider.getMeter(METER_NAME);
    const int = { valueType: ValueType.INT } as const;
    this.#active = meter.createUpDownCounter(METRIC.activeSessions, { ...int, unit: '{session}', description: 'Sessions this process holds now.' });
    this.#created = meter.createCounter(METRIC.sessionsCreated, { ...int, unit: '{session}', description: 'Sessions opened.' });
    this.#closed = meter.createCounter(METRIC.sessionsClosed, { ...int, unit: '{session}', description: 'Sessions ended, by close code.' });
    this.#handedOver = meter.createCounter(METRIC.sessionsHandedOver, {
      ...int,
      unit: '{session}',
      description: 'Sessions left open to other processes when the route closed.',
    });
    this.#adopted = meter.createCounter(METRIC.sessionsAdopted, { ...int, unit: '{session}', description: 'Sessions taken over from another process.' });
    this.#duration = meter.createHistogram(METRIC.sessionDuration, {
      unit: 's',
      description: 'How long sessions lived in this process.',
      advice: { explicitBucketBoundaries: SESSION_DURATION_BUCKETS },
    });
    const messages = meter.createObservableCounter(METRIC.messages, { ...int, unit: '{message}', description: 'SockJS messages received from and sent to clients.' });
    const io = meter.createObservableCounter(METRIC.io, { ...int, unit: 'By', description: 'SockJS payload bytes received from and sent to clients: no HTTP or websocket headers, before permessage-deflate.' });
    const observe: BatchObservableCallback = (result) => {
      for (const t of this.#transports.values()) {
        if (t.messagesIn) result.observe(messages, t.messagesIn, t.receiveAttributes);
        if (t.messagesOut) result.observe(messages, t.messagesOut, t.transmitAttributes);
        if (t.bytesIn) result.observe(io, t.bytesIn, t.receiveAttributes);
        if (t.bytesOut) result.observe(io, t.bytesOut, t.transmitAttributes);
      }
    };
    meter.addBatchObservableCallback(observe, [messages, io]);
    this.#receivers = meter.createCounter(METRIC.receiversAttached, { ...int, unit: '{receiver}', description: 'Receiving connections attached to sessions.' });
    this.#refusals = meter.createCounter(METRIC.refusals, { ...int, unit: '{refusal}', description: 'Requests and connections refused, by reason.' });
    this.#storeDuration = meter.createHistogram(METRIC.storeDuration, {
      unit: 's',
      description: 'Duration of session store operations; failed ones carry error.type.',
      advice: { explicitBucketBoundaries: STORE_DURATION_BUCKETS },
    });
    this.#evictions = meter.createCounter(METRIC.evictions, { ...int, unit: '{session}', description: 'Records the store dropped by itself.' });
  }

  /** The meter of a transport, made once per transport name. */
  transport(name: string): TransportMeter {
    let meter = this.#transports.get(name);
    if (!meter) {
      meter = new TransportMeter(this.route, name);
      this.#transports.set(name, meter);
    }
    return meter;
  }

  /** A session is now held by this process (new, or adopted from a process that died). */
  sessionHeld(meter: TransportMeter): void {
    meter.open++;
    this.#active.add(1, meter.attributes);
  }

  /** A new session opened (not counted again when another process adopts it). */
  sessionCreated(meter: TransportMeter): void {
    this.#createdCount++;
    this.#created.add(1, meter.attributes);
  }

  /**
   * A session this process held is gone.
   * @param closeCode the code of its close frame; undefined when it timed out without one
   * @param seconds how long this process held it
   */
  sessionEnded(meter: TransportMeter, closeCode: number | undefined, seconds: number): void {
    meter.open--;
    this.#active.add(-1, meter.attributes);
    const code = closeCode === undefined ? 'none' : String(closeCode);
    this.#closedCount++;
    this.#closedByCode[code] = (this.#closedByCode[code] ?? 0) + 1;
    const key = `${meter.transport}\n${code}`;
    let attributes = this.#closeAttributes.get(key);
    if (!attributes) {
      attributes = closeCode === undefined ? meter.attributes : { ...meter.attributes, [ATTR.closeCode]: closeCode };
      this.#closeAttributes.set(key, attributes);
    }
    this.#closed.add(1, attributes);
    this.#duration.record(seconds, meter.attributes);
  }

  /**
   * A session this process held was left open to the other processes at shutdown: it is no
   * longer held here, but it did not end (not counted as closed).
   * @param seconds how long this process held it
   */
  sessionHandedOver(meter: TransportMeter, seconds: number): void {
    meter.open--;
    this.#active.add(-1, meter.attributes);
    this.#handedOverCount++;
    this.#handedOver.add(1, meter.attributes);
    this.#duration.record(seconds, meter.attributes);
  }

  /** A session opened by another process is now held here (see `sessionHeld`, called too). */
  sessionAdopted(meter: TransportMeter): void {
    this.#adoptedCount++;
    this.#adopted.add(1, meter.attributes);
  }

  /** Messages from a client: `count` messages in `bytes` bytes. */
  received(meter: TransportMeter, count: number, bytes: number): void {
    this.#messagesIn += count;
    this.#bytesIn += bytes;
    meter.messagesIn += count;
    meter.bytesIn += bytes;
  }

  /** A frame to a client carrying `count` messages in `bytes` bytes. */
  sent(meter: TransportMeter, count: number, bytes: number): void {
    this.#messagesOut += count;
    this.#bytesOut += bytes;
    meter.messagesOut += count;
    meter.bytesOut += bytes;
  }

  /** A receiving connection was attached to a session. */
  receiverAttached(meter: TransportMeter): void {
    this.#receiverCount++;
    this.#receivers.add(1, meter.attributes);
  }

  /**
   * A request or connection was refused. For the middleware and transports (origin checks,
   * authorization, limits, message size, a draining route).
   */
  refused(reason: RefusalReason): void {
    this.#refused[reason]++;
    this.#refusals.add(1, this.#refusalAttributes[reason]);
  }

  /** The store dropped a record by itself. */
  evicted(): void {
    this.#evictionCount++;
    this.#evictions.add(1, this.#routeAttributes);
  }

  /** A store operation started: counts it; see `storeDone`. */
  storeStarted(): void {
    this.#storeOperations++;
  }

  /** A store operation finished after `seconds`; `error` when it threw or rejected. */
  storeDone(operation: string, seconds: number, error?: unknown): void {
    if (error === undefined) {
      let attributes = this.#storeAttributes.get(operation);
      if (!attributes) {
        attributes = { [ATTR.route]: this.route, [ATTR.storeOperation]: operation };
        this.#storeAttributes.set(operation, attributes);
      }
      this.#storeDuration.record(seconds, attributes);
      return;
    }
    this.#storeFailures++;
    this.#storeDuration.record(seconds, { [ATTR.route]: this.route, [ATTR.storeOperation]: operation, [ATTR.errorType]: errorType(error) });
  }

  /** The numbers behind `SessionManager.stats()`. */
  snapshot(): SockjsStats {
    const openByTransport: Record<string, number> = {};
    let open = 0;
    for (const meter of this.#transports.values()) {
      if (meter.open === 0) continue;
      openByTransport[meter.transport] = meter.open;
      open += meter.open;
    }
    return {
      route: this.route,
      sessions: {
        open,
        openByTransport,
        created: this.#createdCount,
        closed: this.#closedCount,
        closedByCode: { ...this.#closedByCode },
        handedOver: this.#handedOverCount,
        adopted: this.#adoptedCount,
      },
      messages: { received: this.#messagesIn, sent: this.#messagesOut },
      bytes: { received: this.#bytesIn, sent: this.#bytesOut },
      receiversAttached: this.#receiverCount,
      store: { operations: this.#storeOperations, failures: this.#storeFailures, evictions: this.#evictionCount },
      refusals: { ...this.#refused },
    };
  }
}
