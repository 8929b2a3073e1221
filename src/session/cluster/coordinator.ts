/**
 * What a route does with the other processes sharing its store: its node topic (who holds the
 * receiving connection of which session, and what happened to it), receiving connections served
 * here for sessions owned elsewhere (RemoteReceiver), and the adoption of sessions whose owner
 * died. With a store of one process (MemoryStore) none of it ever fires.
 */
import { logger } from '../../log.js';
import type { SessionRecord } from '../../store/store.js';
import { SessionState } from '../../store/session-state.js';
import { catchRejection, whenReady } from '../../util/awaitable.js';
import { keyLabel } from '../../util/key-label.js';
import type { SessionChannel } from '../channel.js';
import type { Receiver } from '../receiver.js';
import { NO_REQUEST, type RequestInfo } from '../request-info.js';
import type { RouteSessions } from '../route-sessions.js';
import { internals, kResume, type Session } from '../session.js';
import { claimReceiver, claimReceiverTaking, newClaimToken, nodeOfToken } from './claims.js';
import { RemoteReceiver, type RemoteReceiverSettings } from './remote-receiver.js';

const log = logger('manager');

/** Node topic messages: `<kind>\n<store key>`. */
const INTERRUPTED = 'interrupted';
const CLOSED = 'closed';
/** A receiving connection elsewhere took one of our sessions' queued messages (for drain()). */
const TAKEN = 'taken';
/**
 * To the process whose answered response holds a session's receiver claim: a new receiving
 * request for the session found the claim held (see UnreadResponses).
 */
const POLLED = 'polled';
/** To a session's owner: its client asked again without reading an answer held elsewhere (1013). */
const STALLED = 'stalled';

function nodeTopic(nodeId: string): string {
  return `node:${nodeId}`;
}

export class ClusterCoordinator<S extends Session = Session> {
  /** Receiving connections served here for sessions owned by other processes, by store key. */
  readonly #remoteReceivers = new Map<string, RemoteReceiver>();
  readonly #local: RouteSessions<S>;
  readonly #remoteSettings: RemoteReceiverSettings;

  constructor(local: RouteSessions<S>) {
    this.#local = local;
    this.#remoteSettings = {
      ...local.settings,
      notifyInterrupted: (key) => this.#notifyOwner(key),
      notifyTaken: (key) => this.#notifyOwner(key, TAKEN),
      notifyStalled: (key) => this.#notifyOwner(key, STALLED),
      adoptIfOrphaned: async (key, transport) => {
        const channel = this.#local.channels.get(key);
        if (channel) return channel;
        const record = await this.#local.store.get(key);
        if (!record || record.state !== SessionState.OPEN) return undefined;
        return this.adoptIfOrphaned(key, record, transport, NO_REQUEST);
      },
      onDone: (remote) => {
        if (this.#remoteReceivers.get(remote.key) === remote) this.#remoteReceivers.delete(remote.key);
      },
    };
  }

  /** This process's topic: what other processes tell it about its sessions. */
  get nodeTopic(): string {
    return nodeTopic(this.#local.store.nodeId);
  }

  /** A message on this process's node topic. */
  received(payload: string): void {
    const newline = payload.indexOf('\n');
    const kind = payload.slice(0, newline);
    const key = payload.slice(newline + 1);
    // Another process held the receiving connection of one of our sessions and lost it.
    if (kind === INTERRUPTED) this.#local.channels.get(key)?.interrupted();
    // We hold the receiving connection of a session that closed elsewhere.
    else if (kind === CLOSED) this.#remoteReceivers.get(key)?.checkClosed();
    else if (kind === TAKEN) this.#local.channels.get(key)?.outgoingTaken();
    // A receiving request elsewhere found the claim an unread answer of ours holds.
    else if (kind === POLLED) void this.#local.settings.unread.polled(key);
    // A client of one of our sessions asked again without reading an answer held elsewhere.
    else if (kind === STALLED) this.#local.channels.get(key)?.stalled();
  }

  /** Claim tokens name their process, so a claim left by a dead process can be recognised. */
  newToken(): string {
    return newClaimToken(this.#local.store.nodeId);
  }

  /** Claims the receiving connection of the session under `key` (see claims.ts). */
  claim(key: string, token: string): boolean | Promise<boolean> {
    return claimReceiver(this.#local.store, this.#local.timers, key, token, this.#local.settings.recordTtl, this.#tellHolder(key));
  }

  /**
   * Claims the receiving connection and takes the session's outgoing mailbox with it (see
   * claimReceiverTaking in claims.ts): the messages, true (claimed, mailbox not taken) or false.
   */
  claimTaking(key: string, token: string): string[] | boolean | Promise<string[] | boolean> {
    return claimReceiverTaking(this.#local.store, this.#local.timers, key, token, this.#local.settings.recordTtl, this.#tellHolder(key));
  }

  /**
   * The holder may be an answer its client has not read: it looks, and lets go (read, or the
   * client is stalled); see UnreadResponses.
   */
  #tellHolder(key: string): (holderNode: string) => void {
    const { store } = this.#local;
    return (holderNode) => this.#storeCall(store.publish(nodeTopic(holderNode), `${POLLED}\n${key}`), 'publish polled');
  }

  /** Serves a receiving connection here for a session another process owns. */
  serveRemotely(key: string, receiver: Receiver, token: string): void {
    const remote = new RemoteReceiver(key, receiver, token, this.#remoteSettings);
    this.#local.metrics.receiverAttached(this.#local.metrics.transport(receiver.transport));
    this.#remoteReceivers.set(key, remote);
    remote.start();
  }

  /**
   * A session whose owning process died is adopted by this one, so the client goes on without
   * reconnecting. onOpen is not run again: it ran on the first owner.
   */
  async adoptIfOrphaned(key: string, record: SessionRecord, transport: string, request: RequestInfo): Promise<SessionChannel | undefined> {
    const { store } = this.#local;
    // A process shutting down takes on no sessions: the client is served, and another adopts it.
    if (this.#local.draining) return undefined;
    if (record.owner !== store.nodeId && (await store.isAlive(record.owner))) return undefined;
    if (record.owner !== store.nodeId && !(await store.adopt(key, record.owner, store.nodeId))) return undefined;
    log('adopting session %s (owner %s is gone)', record.id, record.owner);
    const channel = this.#local.create(key, record.id, transport, request, true);
    this.#local.metrics.sessionAdopted(channel.meter);
    // No onOpen: the session was opened by its first owner.
    internals(channel.session)[kResume]();
    channel.pullIncoming();
    return channel;
  }

  /** A session closed (or went) while its receiving connection, if any, is in another process. */
  notifyRemoteReceiver(key: string): void {
    const { store } = this.#local;
    whenReady(
      store.get(key),
      (record) => {
        const holderNode = nodeOfToken(record?.receiver);
        if (holderNode === undefined) return;
        if (holderNode === store.nodeId) this.#remoteReceivers.get(key)?.checkClosed();
        else this.#storeCall(store.publish(nodeTopic(holderNode), `${CLOSED}\n${key}`), 'publish close');
      },
      (error) => this.#local.reportError(error, `store get for session ${keyLabel(key)}`),
    );
  }

  /**
   * The route shuts down: connections served for sessions of other processes end without a
   * frame; their clients come back, and another process serves them.
   */
  endRemoteReceivers(): void {
    for (const remote of [...this.#remoteReceivers.values()]) remote.end();
  }

  /**
   * The receiving connection of a session was interrupted here (or, `TAKEN`, took its queued
   * messages; or, `STALLED`, its client asked again without reading): tell its owner, wherever.
   */
  #notifyOwner(key: string, kind: typeof INTERRUPTED | typeof TAKEN | typeof STALLED = INTERRUPTED): void {
    const local = this.#local.channels.get(key);
    if (local) {
      if (kind === INTERRUPTED) local.interrupted();
      else if (kind === STALLED) local.stalled();
      else local.outgoingTaken();
      return;
    }
    const { store } = this.#local;
    whenReady(
      store.get(key),
      (record) => {
        if (record) this.#storeCall(store.publish(nodeTopic(record.owner), `${kind}\n${key}`), `publish ${kind}`);
      },
      (error) => this.#local.reportError(error, `store get for session ${keyLabel(key)}`),
    );
  }

  #storeCall(result: unknown, what: string): void {
    catchRejection(result, (error) => this.#local.reportError(error, `store ${what}`));
  }
}
