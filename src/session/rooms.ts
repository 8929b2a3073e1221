/**
 * Rooms: named groups of sessions that a broadcast can target (`manager.to(room)`), and the
 * broadcast machinery of a route, which sends to everyone and to rooms alike.
 *
 * Membership is local: a process knows which of its own sessions are in which room, and joining
 * or leaving never asks the store. Across processes sharing a store, each process subscribes to
 * the store topic of a room while it has at least one member of it, so a room broadcast reaches
 * exactly the processes that have members (one SUBSCRIBE when a room gets its first member here,
 * one UNSUBSCRIBE when it loses its last), and no process receives the traffic of rooms it has
 * no members of.
 *
 * Order: every broadcast of a tick, to everyone or to rooms, leaves in call order, locally and on
 * the store, and a store that delivers one publisher's messages in order (Redis pub/sub does:
 * one connection publishes, one connection receives) keeps that order in every process. What a
 * tick holds for one session (of every audience, and from other processes) reaches it as one
 * frame and one write. A message to several rooms is published once per room; a process
 * subscribed to more than one of them delivers it on the first and recognises the rest by the
 * sender's sequence number.
 */
import { SockjsArgumentError, StoreError } from '../errors.js';
import { logger } from '../log.js';
import { messageFrame } from '../protocol/frames.js';
import { encodeMessage } from '../protocol/json.js';
import type { StoreAdapter } from '../store/adapter.js';
import type { Unsubscribe } from '../store/store.js';
import type { TimerHandle, Timers } from '../timers.js';
import { catchRejection, isPromiseLike } from '../util/awaitable.js';
import type { SessionChannel } from './channel.js';
import type { Session } from './session.js';
import { SessionState } from '../store/session-state.js';
import { checkedOutgoing } from './stored-messages.js';

const log = logger('rooms');

/**
 * Who a broadcast reaches: the members of some rooms, or every session of the route, minus the
 * members of some rooms and some sessions. Returned by `manager.to()`, `manager.in()` and
 * `manager.except()`; each call returns a new selection, so one can be kept and refined.
 */
export interface Recipients<S extends Session = Session> {
  /** Adds the members of more rooms (a session in several of them still gets one copy). */
  to(rooms: string | readonly string[]): Recipients<S>;
  /** Same as `to()`; reads better before `sessions()` and `size`. */
  in(rooms: string | readonly string[]): Recipients<S>;
  /**
   * Leaves out sessions (a Session) and the members of rooms (a room name), on every process.
   * `manager.to(room).except(this)` sends to a room without echoing to the session that sends.
   */
  except(excluded: Session | string | Iterable<Session | string>): Recipients<S>;
  /**
   * Sends a value to every open session selected, on every process sharing the store; each
   * session gets it once even when it is in several of the rooms. Encoded once, and framed once
   * for all the sessions that get the same messages in this tick. Throws MessageEncodingError
   * for values JSON cannot carry (before anything is sent).
   */
  broadcast(value: unknown): void;
  /** The open sessions selected that this process owns (other processes' are not listed). */
  sessions(): S[];
  /** How many open sessions selected this process owns. */
  readonly size: number;
}

/** A broadcast's audience, as sent between processes. `rooms` undefined: the whole route. */
interface Audience {
  readonly rooms: readonly string[] | undefined;
  readonly exceptRooms: readonly string[];
  /** Server ids of excluded sessions. */
  readonly exceptSessions: readonly string[];
}

const EVERYONE: Audience = { rooms: undefined, exceptRooms: [], exceptSessions: [] };

/** What a session's channel asks of the rooms: membership. */
export interface RoomMembership {
  join(channel: SessionChannel, room: string): Promise<void>;
  leave(channel: SessionChannel, room: string): boolean;
  roomsOf(channel: SessionChannel): ReadonlySet<string>;
  /** A session that closes or goes away leaves every room. */
  leaveAll(channel: SessionChannel): void;
}

export interface RoomHubSettings {
  readonly store: StoreAdapter;
  /** Route name: topics are per route. */
  readonly name: string;
  /** Every local channel, by store key (the manager's own map, read here). */
  readonly channels: ReadonlyMap<string, SessionChannel>;
  /** The route's clock: subscriptions that failed are tried again on it. */
  readonly timers: Timers;
  readonly reportError: (error: unknown, context: string) => void;
}

/** A room's store subscription in this process. */
interface RoomSubscription {
  /** Resolves once broadcasts from other processes reach the room's members here. Never rejects. */
  ready: Promise<void>;
  stop: Unsubscribe | undefined;
  /** False once the room has no members here: stop as soon as the subscription is in place. */
  wanted: boolean;
}

interface PendingBroadcast {
  readonly audience: Audience;
  readonly encoded: string[];
  /** Sent in this process (so published to the store too); false: received from another one. */
  readonly local: boolean;
}

/** The payload of a targeted broadcast on the store: `<nodeId>\n` then this, as JSON. */
interface Envelope {
  /** The sender's sequence number: a message published to several rooms is delivered once. */
  s: number;
  /** Rooms; absent: the whole route. */
  r?: string[];
  /** Excluded rooms. */
  xr?: string[];
  /** Excluded session ids. */
  xs?: string[];
  /** The JSON-encoded messages. */
  m: string[];
}

const RESOLVED: Promise<void> = Promise.resolve();
const NO_ROOMS: ReadonlySet<string> = new Set();
/**
 * Milliseconds before a room whose store subscription failed (the store was unreachable) is
 * subscribed again while it has members here; doubled after each failed round, up to the most.
 */
const RESUBSCRIBE_FIRST_MS = 1000;
const RESUBSCRIBE_MOST_MS = 30_000;
/**
 * A message to more rooms than this is published once, on the route's topic, instead of once
 * per room. Each copy names every room (a process delivers it on the first copy it gets, to the
 * members of any of them), so N copies carry N² room names: one message to 1 000 rooms put 12 MB
 * on the wire. Past this, every process gets the message and delivers it to its members, if any.
 */
const MOST_ROOM_COPIES = 8;
/** Senders whose sequence numbers are remembered; the oldest is forgotten past this (dead processes). */
const MAX_SENDERS = 1024;

/** Throws a SockjsArgumentError (a TypeError) unless `room` is a room name: a non-empty string. */
export function checkRoom(room: unknown, what = 'room'): string {
  if (typeof room !== 'string' || room.length === 0) {
    throw new SockjsArgumentError(`${what} must be a non-empty string, got ${typeof room === 'string' ? 'an empty string' : typeof room}`);
  }
  return room;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameAudience(a: Audience, b: Audience): boolean {
  return a === b || (sameList(a.rooms, b.rooms) && sameList(a.exceptRooms, b.exceptRooms) && sameList(a.exceptSessions, b.exceptSessions));
}

/** The rooms and the broadcasts of one route in this process. */
export class RoomHub implements RoomMembership {
  /** Local members of each room. */
  readonly #members = new Map<string, Set<SessionChannel>>();
  /** Rooms of each local channel that is in any. */
  readonly #rooms = new Map<SessionChannel, Set<string>>();
  readonly #subscriptions = new Map<string, RoomSubscription>();
  /** Broadcasts of this tick, not yet sent; consecutive ones to one audience share an entry. */
  #pending: PendingBroadcast[] | undefined;
  /** Sequence number of this process's last targeted broadcast. */
  #sequence = 0;
  /** Set by close(): the route is shut, broadcasts go nowhere. */
  #closed = false;
  /** Rooms with members here whose subscription failed, to subscribe again when the timer fires. */
  readonly #resubscribe = new Set<string>();
  #resubscribeTimer: TimerHandle | undefined;
  #resubscribeDelay = RESUBSCRIBE_FIRST_MS;
  /** The last sequence number delivered from each other process. */
  readonly #delivered = new Map<string, number>();
  readonly #settings: RoomHubSettings;

  constructor(settings: RoomHubSettings) {
    this.#settings = settings;
  }

  /** The topic of broadcasts to the whole route. */
  get broadcastTopic(): string {
    return `broadcast:${this.#settings.name}`;
  }

  /** The topic of one room; the route name is escaped so no two (route, room) pairs share one. */
  roomTopic(room: string): string {
    return `room:${encodeURIComponent(this.#settings.name)}:${room}`;
  }

  // ---- membership ----

  join(channel: SessionChannel, room: string): Promise<void> {
    if (channel.session.state !== SessionState.OPEN) return RESOLVED;
    let rooms = this.#rooms.get(channel);
    if (!rooms) this.#rooms.set(channel, (rooms = new Set()));
    if (!rooms.has(room)) {
      rooms.add(room);
      let members = this.#members.get(room);
      if (!members) this.#members.set(room, (members = new Set()));
      members.add(channel);
    }
    return this.#subscribe(room);
  }

  leave(channel: SessionChannel, room: string): boolean {
    const rooms = this.#rooms.get(channel);
    if (!rooms?.delete(room)) return false;
    if (rooms.size === 0) this.#rooms.delete(channel);
    this.#removeMember(channel, room);
    return true;
  }

  roomsOf(channel: SessionChannel): ReadonlySet<string> {
    return this.#rooms.get(channel) ?? NO_ROOMS;
  }

  leaveAll(channel: SessionChannel): void {
    const rooms = this.#rooms.get(channel);
    if (!rooms) return;
    this.#rooms.delete(channel);
    for (const room of rooms) this.#removeMember(channel, room);
  }

  /** A selection of recipients, for the manager's `to()`, `in()` and `except()`. */
  recipients<S extends Session>(rooms: readonly string[] | undefined, exceptRooms: readonly string[] = [], exceptSessions: readonly string[] = []): Recipients<S> {
    return new Selection<S>(this, { rooms, exceptRooms, exceptSessions });
  }

  // ---- broadcasting ----

  /**
   * Queues a broadcast; the broadcasts of one tick leave together, in order (see flush). Once
   * the route is closed it only checks the value: no session is left here, and the store, closed
   * too, can no longer reach the others (every broadcast would be a store error on the app's
   * error path during each shutdown).
   */
  broadcast(audience: Audience | undefined, value: unknown): void {
    const encoded = encodeMessage(value);
    if (this.#closed) {
      log('route closed: broadcast dropped');
      return;
    }
    this.#queue(audience ?? EVERYONE, [encoded], true);
  }

  /**
   * Sends the broadcasts of this tick, those made here and those received from other processes.
   * Runs before any session writes anything else (see SessionChannel.write), so every client
   * sees broadcasts and direct sends in call order.
   *
   * Each session gets what the tick holds for it as ONE frame and one write, in call order: a
   * member of a room that was sent ten messages, among messages to other rooms, gets one frame
   * of ten. Sessions that get the same messages share the frame, built once (every member of a
   * room, when its members are in no other room the tick reaches).
   */
  readonly flush = (): void => {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    if (pending.length === 1) this.#deliver(pending[0]!.audience, pending[0]!.encoded);
    else this.#deliverTick(pending);
    for (const { audience, encoded, local } of pending) if (local) this.#publish(audience, encoded);
  };

  /** A payload published by a process sharing the store, on the route's topic or a room's. */
  received(payload: string, topic: string): void {
    const newline = payload.indexOf('\n');
    const sender = payload.slice(0, newline);
    if (sender === this.#settings.store.nodeId) return;
    let message: unknown;
    try {
      message = JSON.parse(payload.slice(newline + 1));
    } catch (error) {
      this.#settings.reportError(error, `broadcast received on ${topic}`);
      return;
    }
    // Whatever else publishes on a shared store's topic must not break this process.
    if (isStringArray(message)) {
      const valid = checkedOutgoing(message, this.#settings.reportError, `broadcast received on ${topic}`);
      if (valid.length) this.#queue(EVERYONE, valid, false);
      return;
    }
    const envelope = message as Partial<Envelope> | null;
    if (
      envelope === null ||
      typeof envelope !== 'object' ||
      !Number.isSafeInteger(envelope.s) ||
      !isStringArray(envelope.m) ||
      !(envelope.r === undefined || isStringArray(envelope.r)) ||
      !(envelope.xr === undefined || isStringArray(envelope.xr)) ||
      !(envelope.xs === undefined || isStringArray(envelope.xs))
    ) {
      this.#settings.reportError(new StoreError('malformed broadcast payload'), `broadcast received on ${topic}`);
      return;
    }
    // One sender's messages arrive in the order sent, on every topic: a number seen already is
    // the same message published to another of its rooms.
    const last = this.#delivered.get(sender);
    if (last !== undefined && envelope.s! <= last) return;
    this.#delivered.delete(sender);
    this.#delivered.set(sender, envelope.s!);
    if (this.#delivered.size > MAX_SENDERS) this.#delivered.delete(this.#delivered.keys().next().value!);
    const audience = { rooms: envelope.r, exceptRooms: envelope.xr ?? [], exceptSessions: envelope.xs ?? [] };
    const valid = checkedOutgoing(envelope.m!, this.#settings.reportError, `broadcast received on ${topic}`);
    if (valid.length) this.#queue(audience, valid, false);
  }

  /** Local open sessions an audience selects, each once. */
  forEachRecipient(audience: Audience, visit: (channel: SessionChannel) => void): void {
    const excluded = this.#excluded(audience);
    const exceptIds = audience.exceptSessions.length ? new Set(audience.exceptSessions) : undefined;
    const consider = (channel: SessionChannel): void => {
      if (channel.session.state !== SessionState.OPEN) return;
      if (excluded?.has(channel) || exceptIds?.has(channel.session.id)) return;
      visit(channel);
    };
    const { rooms } = audience;
    if (rooms === undefined) {
      for (const channel of this.#settings.channels.values()) consider(channel);
    } else if (rooms.length === 1) {
      const members = this.#members.get(rooms[0]!);
      if (members) for (const channel of members) consider(channel);
    } else {
      const seen = new Set<SessionChannel>();
      for (const room of rooms) {
        const members = this.#members.get(room);
        if (!members) continue;
        for (const channel of members) {
          if (seen.has(channel)) continue;
          seen.add(channel);
          consider(channel);
        }
      }
    }
  }

  /**
   * Stops every room subscription (the route is closing). Broadcasts already queued this tick
   * (those of the sessions' onClose hooks) still leave; later ones are dropped.
   */
  close(): void {
    this.#closed = true;
    if (this.#resubscribeTimer !== undefined) this.#settings.timers.clearTimeout(this.#resubscribeTimer);
    this.#resubscribeTimer = undefined;
    this.#resubscribe.clear();
    for (const room of [...this.#subscriptions.keys()]) this.#unsubscribe(room);
  }

  // ---- internals ----

  #removeMember(channel: SessionChannel, room: string): void {
    const members = this.#members.get(room);
    if (!members) return;
    members.delete(channel);
    if (members.size > 0) return;
    this.#members.delete(room);
    this.#unsubscribe(room);
  }

  /** Members of the excluded rooms, when there are any. */
  #excluded(audience: Audience): Set<SessionChannel> | undefined {
    if (audience.exceptRooms.length === 0) return undefined;
    const excluded = new Set<SessionChannel>();
    for (const room of audience.exceptRooms) {
      const members = this.#members.get(room);
      if (members) for (const channel of members) excluded.add(channel);
    }
    return excluded;
  }

  /** Adds to this tick's broadcasts; consecutive ones of one audience and origin share an entry. */
  #queue(audience: Audience, encoded: string[], local: boolean): void {
    const pending = this.#pending;
    if (!pending) {
      this.#pending = [{ audience, encoded, local }];
      queueMicrotask(this.flush);
      return;
    }
    const last = pending[pending.length - 1]!;
    if (last.local === local && sameAudience(last.audience, audience)) for (const message of encoded) last.encoded.push(message);
    else pending.push({ audience, encoded, local });
  }

  /**
   * The broadcasts of a tick with several audiences: each recipient's messages, in order, as one
   * frame; one frame built per distinct list of messages.
   */
  #deliverTick(pending: readonly PendingBroadcast[]): void {
    if (this.#settings.channels.size === 0) return;
    const lists = new Map<SessionChannel, number[]>();
    for (let k = 0; k < pending.length; k++) {
      this.forEachRecipient(pending[k]!.audience, (channel) => {
        const list = lists.get(channel);
        if (list) list.push(k);
        else lists.set(channel, [k]);
      });
    }
    const frames = new Map<string, { frame: Buffer; encoded: string[] }>();
    for (const [channel, list] of lists) {
      const key = list.length === 1 ? String(list[0]) : list.join(',');
      let shared = frames.get(key);
      if (!shared) {
        const encoded = list.length === 1 ? pending[list[0]!]!.encoded : list.flatMap((k) => pending[k]!.encoded);
        shared = { frame: Buffer.from(messageFrame(encoded)), encoded };
        frames.set(key, shared);
      }
      channel.sendShared(shared.frame, shared.encoded);
    }
  }

  /** Writes one frame, built once, to every local recipient. */
  #deliver(audience: Audience, encoded: string[]): void {
    if (this.#settings.channels.size === 0 || encoded.length === 0) return;
    let frame: Buffer | undefined;
    this.forEachRecipient(audience, (channel) => {
      frame ??= Buffer.from(messageFrame(encoded));
      channel.sendShared(frame, encoded);
    });
  }

  #publish(audience: Audience, encoded: string[]): void {
    const { store } = this.#settings;
    const plain = audience.exceptRooms.length === 0 && audience.exceptSessions.length === 0;
    if (audience.rooms === undefined && plain) {
      this.#storeCall(store.publish(this.broadcastTopic, `${store.nodeId}\n${JSON.stringify(encoded)}`), 'publish broadcast');
      return;
    }
    if (audience.rooms?.length === 0) return;
    const envelope: Envelope = { s: ++this.#sequence, m: encoded };
    if (audience.rooms !== undefined) envelope.r = [...audience.rooms];
    if (audience.exceptRooms.length) envelope.xr = [...audience.exceptRooms];
    if (audience.exceptSessions.length) envelope.xs = [...audience.exceptSessions];
    const payload = `${store.nodeId}\n${JSON.stringify(envelope)}`;
    if (audience.rooms === undefined || audience.rooms.length > MOST_ROOM_COPIES) {
      this.#storeCall(store.publish(this.broadcastTopic, payload), 'publish broadcast');
      return;
    }
    for (const room of new Set(audience.rooms)) this.#storeCall(store.publish(this.roomTopic(room), payload), `publish to room ${room}`);
  }

  /** Subscribes to a room's topic if this process is not yet; resolves when it is. */
  #subscribe(room: string): Promise<void> {
    const existing = this.#subscriptions.get(room);
    if (existing) return existing.ready;
    const subscription: RoomSubscription = { ready: RESOLVED, stop: undefined, wanted: true };
    this.#subscriptions.set(room, subscription);
    const failed = (error: unknown): void => {
      // The members stay members here, and the room is subscribed again: at the next join to it,
      // or on a timer. Waiting for a join alone left a room whose store was down when its only
      // member here joined (one user's room, say) deaf to every other process for good.
      if (this.#subscriptions.get(room) === subscription) this.#subscriptions.delete(room);
      this.#settings.reportError(error, `store subscribe to room ${room}`);
      if (subscription.wanted && this.#members.has(room)) this.#resubscribeLater(room);
    };
    const held = (): void => {
      this.#resubscribeDelay = RESUBSCRIBE_FIRST_MS;
    };
    let result: ReturnType<StoreAdapter['subscribe']>;
    // A listener of its own per subscription: a store may keep one set of listeners per topic
    // (RedisStore and MemoryStore do), and a room left and joined again before its first
    // subscription held has two; with one shared function, stopping the old one would take the
    // new one's listener with it (and the channel), and the room would hear no other process.
    const listener = (payload: string): void => this.received(payload, 'a room topic');
    try {
      result = this.#settings.store.subscribe(this.roomTopic(room), listener);
    } catch (error) {
      failed(error);
      return RESOLVED;
    }
    if (!isPromiseLike(result)) {
      subscription.stop = result;
      held();
      return RESOLVED;
    }
    subscription.ready = result.then((stop) => {
      subscription.stop = stop;
      held();
      if (!subscription.wanted) this.#stop(room, stop);
    }, failed);
    return subscription.ready;
  }

  /** Subscribes `room` again after a while, with the other rooms that failed meanwhile. */
  #resubscribeLater(room: string): void {
    if (this.#closed) return;
    this.#resubscribe.add(room);
    if (this.#resubscribeTimer !== undefined) return;
    const delay = this.#resubscribeDelay;
    this.#resubscribeDelay = Math.min(delay * 2, RESUBSCRIBE_MOST_MS);
    this.#resubscribeTimer = this.#settings.timers.setTimeout(() => {
      this.#resubscribeTimer = undefined;
      const rooms = [...this.#resubscribe];
      this.#resubscribe.clear();
      log('subscribing again to %d room(s) whose subscription failed', rooms.length);
      // A room joined again meanwhile is subscribed already: #subscribe finds it.
      for (const failed of rooms) if (this.#members.has(failed)) void this.#subscribe(failed);
    }, delay);
  }

  #unsubscribe(room: string): void {
    const subscription = this.#subscriptions.get(room);
    if (!subscription) return;
    this.#subscriptions.delete(room);
    subscription.wanted = false;
    if (subscription.stop) this.#stop(room, subscription.stop);
  }

  #stop(room: string, stop: Unsubscribe): void {
    log('no member of room %s left here: unsubscribing', room);
    try {
      this.#storeCall(stop(), `unsubscribe from room ${room}`);
    } catch (error) {
      this.#settings.reportError(error, `store unsubscribe from room ${room}`);
    }
  }

  #storeCall(result: unknown, what: string): void {
    catchRejection(result, (error) => this.#settings.reportError(error, `store ${what}`));
  }
}

/** One selection of recipients; immutable, every refinement is a new one. */
class Selection<S extends Session> implements Recipients<S> {
  constructor(
    readonly hub: RoomHub,
    readonly audience: Audience,
  ) {}

  to(rooms: string | readonly string[]): Recipients<S> {
    const added = roomList(rooms, 'to(rooms)');
    // Adding rooms to "everyone" is still everyone.
    const current = this.audience.rooms;
    const merged = current === undefined ? undefined : [...new Set([...current, ...added])];
    return new Selection<S>(this.hub, { ...this.audience, rooms: merged });
  }

  in(rooms: string | readonly string[]): Recipients<S> {
    return this.to(rooms);
  }

  except(excluded: Session | string | Iterable<Session | string>): Recipients<S> {
    // Sets, in insertion order: a selection of thousands of rooms costs O(rooms), not O(rooms²).
    const rooms = new Set(this.audience.exceptRooms);
    const sessions = new Set(this.audience.exceptSessions);
    const items: Iterable<Session | string> = typeof excluded === 'string' || !isIterable(excluded) ? [excluded] : excluded;
    for (const item of items) {
      if (typeof item === 'string') {
        rooms.add(checkRoom(item, 'except(): a room'));
      } else if (item !== null && typeof item === 'object' && typeof (item as Session).id === 'string') {
        sessions.add(item.id);
      } else {
        throw new SockjsArgumentError(`except() takes sessions and room names, got ${item === null ? 'null' : typeof item}`);
      }
    }
    return new Selection<S>(this.hub, { rooms: this.audience.rooms, exceptRooms: [...rooms], exceptSessions: [...sessions] });
  }

  broadcast(value: unknown): void {
    this.hub.broadcast(this.audience, value);
  }

  sessions(): S[] {
    const found: S[] = [];
    this.hub.forEachRecipient(this.audience, (channel) => found.push(channel.session as S));
    return found;
  }

  get size(): number {
    let count = 0;
    this.hub.forEachRecipient(this.audience, () => count++);
    return count;
  }
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

/** One room or several, checked, without repeats. */
export function roomList(rooms: string | readonly string[], what: string): string[] {
  if (typeof rooms === 'string') return [checkRoom(rooms, `${what}: a room`)];
  if (!Array.isArray(rooms)) throw new SockjsArgumentError(`${what} takes a room name or an array of them, got ${rooms === null ? 'null' : typeof rooms}`);
  const list = new Set<string>();
  for (const room of rooms as readonly unknown[]) list.add(checkRoom(room, `${what}: a room`));
  return [...list];
}
