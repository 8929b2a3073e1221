/**
 * The connection protocol's implementation (the SessionConnector calls of connector.ts): a
 * receiving connection opens a session, attaches to a live one (here, or served here for
 * another process), or gets the close frame of a closed one; a client's send reaches its
 * session wherever it runs; a websocket is a session of its own.
 */
import { logger } from '../log.js';
import { CloseCode, CloseReason, OPEN_FRAME, closeFrame, messageFrame } from '../protocol/frames.js';
import { SessionState } from '../store/session-state.js';
import type { SessionRecord } from '../store/store.js';
import { catchRejection, isPromiseLike, whenReady } from '../util/awaitable.js';
import { keyLabel } from '../util/key-label.js';
import { flatUUID } from '../util/uuid.js';
import type { RouteMetrics } from '../metrics/route-metrics.js';
import type { SessionChannel } from './channel.js';
import type { ClusterCoordinator } from './cluster/coordinator.js';
import type { Admission, WebsocketSession } from './connector.js';
import type { Receiver } from './receiver.js';
import { NO_REQUEST, type RequestInfo } from './request-info.js';
import type { RouteSessions } from './route-sessions.js';
import { internals, kOpen, type Session } from './session.js';
import { checkedOutgoing } from './stored-messages.js';

const log = logger('manager');

/** Websocket sessions get store keys no client URL can produce (a path segment has no '/'). */
const WEBSOCKET_KEY_PREFIX = 'ws/';

export class Connections<S extends Session = Session> {
  readonly #local: RouteSessions<S>;
  readonly #cluster: ClusterCoordinator<S>;

  constructor(local: RouteSessions<S>, cluster: ClusterCoordinator<S>) {
    this.#local = local;
    this.#cluster = cluster;
  }

  /**
   * A receiving connection for the session under `key` (xhr, xhr_streaming, eventsource, ...):
   * opens a new session, attaches to a live one, or serves the close frame of a closed one.
   */
  async connect(key: string, receiver: Receiver, request: RequestInfo, admission?: Admission): Promise<void> {
    // With a networked store the client may go away while the store is asked, before anything
    // listens for that: remember it, and report it to whatever took the connection.
    const early = {
      aborted: false,
      receiverAborted(): void {
        early.aborted = true;
      },
    };
    receiver.abortListener = early;
    try {
      await this.#connect(key, receiver, request, admission);
    } catch (error) {
      // The store failed (say, Redis is unreachable): end the request with a reason, never hang.
      this.#local.reportError(error, `receiving request (${receiver.transport}) for session ${keyLabel(key)}`);
      receiver.end(closeFrame(CloseCode.STORE_UNAVAILABLE, CloseReason.STORE_UNAVAILABLE));
      return;
    }
    if (early.aborted) receiver.abortListener?.receiverAborted(receiver);
  }

  async #connect(key: string, receiver: Receiver, request: RequestInfo, admission: Admission | undefined): Promise<void> {
    const { store, metrics } = this.#local;
    // An answer of this process the client has not read holds the claim: read by now, or the
    // reader is stalled (the session closes with 1013, the claim is free, and this request gets
    // the close frame below). See UnreadResponses.
    const looked = this.#local.settings.unread.polled(key);
    if (looked) await looked;
    const live = this.#local.channels.get(key);
    if (live && live.session.state === SessionState.OPEN && admission?.record === undefined && admission?.identity === undefined) {
      // An open session of this process (the next poll of a polling session): its state is here,
      // so the store is not asked for its record (one Redis round trip less per poll); the claim,
      // which takes the outgoing mailbox too, is the only store call.
      live.session.hits++;
      const token = this.#cluster.newToken();
      live.receiverArriving();
      try {
        // The outgoing mailbox comes with the claim (one round trip for a networked store).
        const claiming = this.#cluster.claimTaking(key, token);
        const claimed = isPromiseLike(claiming) ? await claiming : claiming;
        if (claimed === false) receiver.end(closeFrame(CloseCode.ANOTHER_CONNECTION, CloseReason.ANOTHER_CONNECTION));
        else live.attach(receiver, token, claimed === true ? undefined : claimed);
      } finally {
        live.arrivalOver();
      }
      return;
    }
    let record: SessionRecord;
    let isNew = false;
    if (admission?.record) {
      // The route looked the session up and let the request reach it, not create one: if it is
      // gone meanwhile, the claim below fails rather than create an unauthorized session.
      record = admission.record;
    } else {
      const fresh: SessionRecord = {
        id: flatUUID(),
        owner: store.nodeId,
        state: SessionState.OPEN,
        seenAt: this.#local.timers.now(),
        transport: receiver.transport,
        ...(admission?.identity !== undefined ? { identity: admission.identity } : {}),
      };
      const created = store.create(key, fresh, this.#local.settings.recordTtl);
      ({ record, created: isNew } = isPromiseLike(created) ? await created : created);
      // close() came while the store created it: a session opened now would miss the shutdown
      // (made after it closed every session, on a closed store). The client gets the close
      // frame every session got.
      if (isNew && this.#local.draining) {
        this.#storeCall(store.delete(key), 'delete');
        metrics.refused('draining');
        receiver.end(closeFrame(CloseCode.GOING_AWAY, CloseReason.GOING_AWAY));
        return;
      }
      // Created by a concurrent request of another identity between the lookup and now.
      if (!isNew && admission && record.identity !== admission.identity) {
        receiver.end(closeFrame(CloseCode.ANOTHER_CONNECTION, CloseReason.ANOTHER_CONNECTION));
        return;
      }
    }
    if (isNew) {
      const channel = this.#local.create(key, record.id, receiver.transport, request, true, admission?.data);
      const more = receiver.send(OPEN_FRAME);
      metrics.sessionCreated(channel.meter);
      internals(channel.session)[kOpen]();
      if (!more) channel.idle();
      else if (channel.session.state === SessionState.OPEN) {
        try {
          await this.#claimAndAttach(key, receiver, channel);
        } catch (error) {
          // The session stays, waiting for the next request; its disconnect timer must run.
          channel.idle();
          throw error;
        }
      } else {
        // onOpen closed the session at once: a streaming receiver, still open after the open
        // frame, gets the close frame too (protocol suite: HandlingClose.test_close_frame).
        const found = store.get(key);
        const current = isPromiseLike(found) ? await found : found;
        if (current) this.#serveClosed(key, current, receiver);
        else receiver.end();
      }
      return;
    }
    const local = this.#local.channels.get(key);
    if (local) local.session.hits++;
    if (record.state >= SessionState.CLOSING) return this.#serveClosed(key, record, receiver);
    const token = this.#cluster.newToken();
    const claimed = this.#cluster.claim(key, token);
    if (!(isPromiseLike(claimed) ? await claimed : claimed)) {
      receiver.end(closeFrame(CloseCode.ANOTHER_CONNECTION, CloseReason.ANOTHER_CONNECTION));
      return;
    }
    const channel = local ?? (await this.#cluster.adoptIfOrphaned(key, record, receiver.transport, request));
    if (channel) channel.attach(receiver, token);
    else this.#cluster.serveRemotely(key, receiver, token);
  }

  /**
   * Messages sent by the client (xhr_send, jsonp_send). False, and nothing reaches a hook, when
   * there is no such session or it is no longer open: the transport answers 404 either way, so
   * the client learns its messages were not taken (sockjs-protocol issue 73; docs/transports.md).
   */
  async incoming(key: string, messages: readonly unknown[], bytes = 0): Promise<boolean> {
    const { store, metrics } = this.#local;
    const local = this.#local.channels.get(key);
    if (local) {
      if (local.session.state !== SessionState.OPEN) {
        log('refused %d message(s) for closed session %s', messages.length, local.session.id);
        return false;
      }
      // Too much already waits for onMessage: this send's answer waits too (sockjs-client sends
      // one request at a time, so that holds the client back), or the session closes (1008).
      const room = local.incomingRoom(bytes);
      if (room === false) return false;
      if (room) await room;
      if (local.session.state !== SessionState.OPEN) return false;
      local.session.hits++;
      metrics.received(local.meter, messages.length, bytes);
      // After what the client sent earlier through other processes (the store's incoming
      // mailbox); answered once they are in line, so the client's next send cannot overtake.
      const inLine = local.receive(messages, bytes);
      if (inLine) await inLine;
      return true;
    }
    const found = store.get(key);
    const record = isPromiseLike(found) ? await found : found;
    if (!record) return false;
    if (record.state !== SessionState.OPEN) {
      log('refused %d message(s) for closed session %s', messages.length, record.id);
      return false;
    }
    metrics.received(metrics.transport(record.transport), messages.length, bytes);
    const adopted = await this.#cluster.adoptIfOrphaned(key, record, record.transport, NO_REQUEST);
    if (adopted) {
      const inLine = adopted.receive(messages, bytes);
      if (inLine) await inLine;
      return true;
    }
    await store.push(
      key,
      'incoming',
      messages.map((message) => JSON.stringify(message)),
    );
    return true;
  }

  /** A new websocket session: it lives exactly as long as its connection. */
  openWebsocket(receiver: Receiver, request: RequestInfo, admission?: Admission): WebsocketSession<S> {
    const { store, metrics } = this.#local;
    const id = flatUUID();
    const key = WEBSOCKET_KEY_PREFIX + id;
    // The record holds the receiver claim from birth: a live connection, which a full store
    // evicts only after sessions without one.
    const record: SessionRecord = {
      id,
      owner: store.nodeId,
      state: SessionState.OPEN,
      seenAt: this.#local.timers.now(),
      transport: receiver.transport,
      receiver: id,
      ...(admission?.identity !== undefined ? { identity: admission.identity } : {}),
    };
    this.#storeCall(store.create(key, record, this.#local.settings.recordTtl), 'create');
    const channel = this.#local.create(key, id, receiver.transport, request, false, admission?.data);
    channel.attach(receiver, id);
    receiver.send(OPEN_FRAME);
    metrics.sessionCreated(channel.meter);
    internals(channel.session)[kOpen]();
    return new WebsocketInlet(channel.session as S, channel, metrics);
  }

  async #claimAndAttach(key: string, receiver: Receiver, channel: SessionChannel): Promise<void> {
    const token = this.#cluster.newToken();
    const claimed = this.#cluster.claim(key, token);
    if (isPromiseLike(claimed) ? await claimed : claimed) channel.attach(receiver, token);
    else receiver.end(closeFrame(CloseCode.ANOTHER_CONNECTION, CloseReason.ANOTHER_CONNECTION));
  }

  #serveClosed(key: string, record: SessionRecord, receiver: Receiver): void {
    const reportError = (error: unknown, context: string): void => this.#local.reportError(error, context);
    const frame = closeFrame(record.closeCode ?? CloseCode.GO_AWAY, record.closeReason ?? CloseReason.GO_AWAY);
    whenReady(
      this.#local.store.take(key, 'outgoing'),
      (taken) => {
        const pending = checkedOutgoing(taken, reportError, `store take for closed session ${record.id}`);
        // Messages sent before the close still reach the client, then the close frame.
        if (pending.length && !receiver.send(messageFrame(pending))) return;
        receiver.end(frame);
        this.#local.closeFrameTaken(key);
      },
      (error) => {
        reportError(error, `store take for closed session ${record.id}`);
        receiver.end(frame);
        this.#local.closeFrameTaken(key);
      },
    );
  }

  #storeCall(result: unknown, what: string): void {
    catchRejection(result, (error) => this.#local.reportError(error, `store ${what}`));
  }
}

/**
 * Where a websocket session's messages go: an object with a method rather than a closure, since
 * it lives as long as the connection (a closure and its scope per idle session, issue 17).
 */
class WebsocketInlet<S extends Session> implements WebsocketSession<S> {
  constructor(
    readonly session: S,
    readonly channel: SessionChannel,
    readonly metrics: RouteMetrics,
  ) {}

  receive(messages: readonly unknown[], bytes: number): void {
    this.metrics.received(this.channel.meter, messages.length, bytes);
    this.channel.receiveDirect(messages, bytes);
  }
}
