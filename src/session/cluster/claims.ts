/**
 * Receiver claims across processes: at most one receiving connection per session, wherever it
 * is served. A claim token `<nodeId>/<uuid>` names the process that holds it, so a claim left
 * behind by a process that died can be recognised and taken over.
 */
import { logger } from '../../log.js';
import type { StoreAdapter } from '../../store/adapter.js';
import type { Timers } from '../../timers.js';
import { isPromiseLike } from '../../util/awaitable.js';
import { keyLabel } from '../../util/key-label.js';
import { flatUUID } from '../../util/uuid.js';

const log = logger('manager');

/**
 * Pauses before retrying a receiver claim held by another live process (see `claimReceiver`):
 * about three quarters of a second in all, then the request gets c[2010].
 */
const CLAIM_RETRY_DELAYS = [10, 40, 100, 200, 400] as const;

/** A new claim token of the process `nodeId`. */
export function newClaimToken(nodeId: string): string {
  return `${nodeId}/${flatUUID()}`;
}

/** The process (`store.nodeId`) in a receiver claim token `<nodeId>/<uuid>`. */
export function nodeOfToken(token: string | undefined): string | undefined {
  const slash = token?.lastIndexOf('/') ?? -1;
  return slash > 0 ? token!.slice(0, slash) : undefined;
}

/**
 * Claims the receiving connection. With a synchronous (in-process) store a refusal is final.
 * With a shared store, a claim held by another process may be one it is releasing right now:
 * its release and our claim travel on different connections, and under load Redis may run our
 * claim first (the client's next poll can overtake the release). So the claim is retried for
 * a moment before the client is told "another connection still open"; and a claim held by a
 * process that died (say, while it held a poll) is released and taken.
 */
export function claimReceiver(store: StoreAdapter, timers: Timers, key: string, token: string, ttlMs: number, tellHolder: (holderNode: string) => void): boolean | Promise<boolean> {
  const claimed = store.claimReceiver(key, token, ttlMs);
  if (!isPromiseLike(claimed)) return claimed;
  return claimed.then((ok) => ok || reclaim(store, timers, key, token, ttlMs, tellHolder));
}

/**
 * {@link claimReceiver}, taking the outgoing mailbox with the claim when the store can
 * (`claimAndTake`: one round trip for a networked store). Answers the taken messages when
 * claimed with them; true when claimed without them (a store without `claimAndTake`, or a claim
 * granted only after waiting for another holder): the mailbox is still to be taken; false when
 * refused.
 */
export function claimReceiverTaking(store: StoreAdapter, timers: Timers, key: string, token: string, ttlMs: number, tellHolder: (holderNode: string) => void): string[] | boolean | Promise<string[] | boolean> {
  const claimed = store.claimAndTake(key, token, ttlMs);
  if (!isPromiseLike(claimed)) return claimed;
  return claimed.then<string[] | boolean>((taken) => taken || reclaim(store, timers, key, token, ttlMs, tellHolder));
}

/** `tellHolder` is called once per holder that is alive, before the first wait for it. */
async function reclaim(store: StoreAdapter, timers: Timers, key: string, token: string, ttlMs: number, tellHolder: (holderNode: string) => void): Promise<boolean> {
  let told: string | undefined;
  for (const delay of CLAIM_RETRY_DELAYS) {
    const holder = (await store.get(key))?.receiver;
    if (holder === undefined) return store.claimReceiver(key, token, ttlMs);
    const holderNode = nodeOfToken(holder);
    // Our own connection carries our releases in order before this claim: the holder is real.
    if (holderNode === undefined || holderNode === store.nodeId) return false;
    if (!(await store.isAlive(holderNode))) {
      log('releasing the receiver claim that dead process %s holds on %s', holderNode, keyLabel(key));
      await store.releaseReceiver(key, holder);
      return store.claimReceiver(key, token, ttlMs);
    }
    if (holder !== told) {
      told = holder;
      tellHolder(holderNode);
    }
    await new Promise<void>((resolve) => timers.setTimeout(resolve, delay));
    if (await store.claimReceiver(key, token, ttlMs)) return true;
  }
  return false;
}
