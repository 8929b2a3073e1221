/**
 * A response body that lets Koa write the head, then steps aside. A streaming response outlives
 * the middleware chain, yet middleware above sets headers after `await next()` (a session
 * cookie, a timing header, CORS): if the route wrote the head itself, inside the chain, those
 * headers would be lost or throw ERR_HTTP_HEADERS_SENT. So the route makes a gate the body
 * (`attach`) and returns; once the whole chain has unwound and every header is set, Koa's
 * respond() hands the response over, which is the signal that it is ours. From then on frames go
 * straight to `res.write()`: no stream machinery per frame.
 *
 * How Koa hands it over:
 * - its respond() reads `ctx.respond` before anything else (Koa 2 and 3). The gate makes that
 *   property an accessor: the read that comes from respond() opens the gate and answers `false`,
 *   so Koa leaves the response alone. Piping instead costs an idle stream about 7 KB of heap in
 *   Koa 3, whose respond() sends every stream body through `stream.pipeline()` (an
 *   AbortController, four end-of-stream watchers and their listeners on the response, kept for
 *   the stream's life; docs/bench/PROFILE.md, round four);
 * - respond() is told apart from middleware above that reads `ctx.respond` after `await next()`
 *   (which must not open the gate early: headers it sets afterwards would be lost) by its stack:
 *   Koa's `respond`, called from its `handleResponse`. A read from anywhere else gets the value
 *   as it was and opens nothing;
 * - failing that (a Koa bundled under other names, or stack traces turned off), respond() goes
 *   on and pipes the gate (`pipe()`): Koa 2 calls it directly, Koa 3 through stream.pipeline().
 *   It costs the memory above, nothing else.
 * Koa takes over only what it would have piped: if middleware above replaced the body, set an
 * empty status, or set `ctx.respond` itself, Koa answers as it would have, and the gate never
 * opens.
 */
import type { Context } from 'koa';
import { Stream, type Writable } from 'node:stream';

/** Statuses whose response has no body: Koa ends them without looking at the body. */
const EMPTY_STATUS = new Set([204, 205, 304]);

export class ResponseGate {
  #open: ((destination: Writable) => void) | undefined;

  /**
   * @param onOpen called once, with the destination, when Koa lets go of the response: the
   *   Node response itself, or (piped by Koa 3) the same response through stream.pipeline().
   */
  constructor(onOpen: (destination: Writable) => void) {
    this.#open = onOpen;
  }

  /** Makes the gate `ctx.body`, and `ctx.respond` the accessor through which Koa opens it. */
  attach(ctx: Context): void {
    ctx.body = this;
    if (Object.getOwnPropertyDescriptor(ctx, 'respond') === undefined) Object.defineProperty(ctx, 'respond', RESPOND);
  }

  /** Whether Koa has let go of the response. */
  get opened(): boolean {
    return this.#open === undefined;
  }

  pipe<T extends NodeJS.WritableStream>(destination: T): T {
    // Koa 3's pipeline() reports a destination that closes before its source ended as
    // ERR_STREAM_PREMATURE_CLOSE, which Koa's default handler prints with a stack trace. For
    // SockJS a client dropping a stream is ordinary, so the gate ends first (prepended: before
    // pipeline's own 'close' listener).
    (destination as unknown as Writable).prependListener('close', () => this.finish());
    this.#openOn(destination as unknown as Writable);
    return destination;
  }

  /** The response is complete: tells whatever piped the gate (pipeline waits for 'end'). */
  finish(): void {
    this.emit('end');
  }

  /** Koa destroys a stream body when the response finishes; there is nothing to release. */
  destroy(): void {}

  #openOn(destination: Writable): void {
    const open = this.#open;
    if (open === undefined) return;
    this.#open = undefined;
    open(destination);
  }

  /** `ctx.respond` as Koa's respond() reads it. */
  static respondRead(ctx: Context): false | undefined {
    const body = ctx.body;
    if (!(body instanceof ResponseGate)) return undefined;
    if (body.opened) return false;
    // What respond() checks before it would pipe the body (Koa 2 and 3).
    if (!ctx.writable || EMPTY_STATUS.has(ctx.status) || ctx.method === 'HEAD') return undefined;
    if (!calledByKoaRespond()) return undefined;
    body.#openOn(ctx.res);
    return false;
  }
}

// A Stream to Koa (`instanceof Stream`: Koa 2 and 3 take only those as stream bodies) whose
// constructor never runs: Stream's would give each gate an event-emitter table (a dictionary
// object) that only a piping Koa ever uses; EventEmitter makes one on the first listener.
Object.setPrototypeOf(ResponseGate.prototype, Stream.prototype);
export interface ResponseGate extends Stream {}

/**
 * `ctx.respond` while a gate may be the body: one shared accessor (no closure per response).
 * Setting the property makes it a plain value again: whoever sets it decides, as without a gate.
 */
const RESPOND: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get: function respondOfGate(this: Context): boolean | undefined {
    return ResponseGate.respondRead(this);
  },
  set(this: Context, value: boolean | undefined): void {
    Object.defineProperty(this, 'respond', { value, writable: true, configurable: true, enumerable: true });
  },
};

type CallSites = NodeJS.CallSite[];

/**
 * Whether the property read in progress is Koa's respond(), called by handleResponse once the
 * middleware chain has resolved (the names in Koa 2.x and 3.x: `lib/application.js`). Reads the
 * two frames above the accessor as V8's structured call sites, leaving `Error.prepareStackTrace`
 * and `Error.stackTraceLimit` as they were.
 */
function calledByKoaRespond(): boolean {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  let sites: unknown;
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites;
    Error.stackTraceLimit = 3;
    const holder: { stack?: unknown } = {};
    // Frames above ResponseGate.respondRead: the accessor, respond(), handleResponse.
    Error.captureStackTrace(holder, ResponseGate.respondRead);
    sites = holder.stack;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
  if (!Array.isArray(sites)) return false;
  const [, respond, caller] = sites as CallSites;
  return respond?.getFunctionName() === 'respond' && caller?.getFunctionName() === 'handleResponse';
}
