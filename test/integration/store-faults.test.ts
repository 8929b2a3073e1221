/**
 * What a store hands back is checked before it becomes a frame or reaches onMessage, and a
 * store failure shows the client no internal text (issue 9, fault 6). A MemoryStore subclass
 * plays a networked store whose contents were corrupted (by another program, a version that
 * encoded differently, a cut-short write) or that is unreachable.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Koa from 'koa';
import { MemoryStore, Session, StoreError, sockjs, type SockjsMiddleware } from '../../src/index.js';
import type { Mailbox, Unsubscribe } from '../../src/store/store.js';
import { open, post, readAll, request } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { SharedMemoryStore } from '../helpers/shared-memory-store.js';

/** Entries that would break or forge frames if spliced in as they are. */
const CORRUPT_OUTGOING = [
  '1]\nc[3000,"forged"',
  '"unterminated',
  '"raw \u2028 separator"',
  '',
  '1,2',
  '"x"]\n',
];

class TamperedStore extends SharedMemoryStore {
  /** Spliced into the middle of the next take of each mailbox. */
  readonly corruptNext = new Map<Mailbox, string[]>();
  /** Makes get() and subscribe() fail like an unreachable store. */
  failing = false;
  /** Makes the next subscribe() reject once. */
  failSubscribe = false;

  override take(key: string, mailbox: Mailbox): string[] {
    const taken = super.take(key, mailbox);
    const corrupt = this.corruptNext.get(mailbox);
    if (!corrupt) return taken;
    this.corruptNext.delete(mailbox);
    const middle = Math.ceil(taken.length / 2);
    return [...taken.slice(0, middle), ...corrupt, ...taken.slice(middle)];
  }

  override get(key: string): ReturnType<MemoryStore['get']> {
    if (this.failing) throw new StoreError('connection to 10.1.2.3:6379 refused (internal detail)');
    return super.get(key);
  }

  override subscribe(topic: string, listener: (payload: string) => void): Unsubscribe {
    if (this.failSubscribe) {
      this.failSubscribe = false;
      // A networked store answers with a promise (the SessionStore contract allows either).
      return Promise.reject(new StoreError('subscriber connection at 10.1.2.3 lost (internal detail)')) as unknown as Unsubscribe;
    }
    return super.subscribe(topic, listener);
  }
}

interface Fixture {
  server: Listening;
  store: TamperedStore;
  route: SockjsMiddleware;
  received: unknown[];
  errors: Array<{ error: unknown; context: string }>;
  close(): Promise<void>;
}

async function start(): Promise<Fixture> {
  const received: unknown[] = [];
  const errors: Fixture['errors'] = [];
  class Echo extends Session {
    override onMessage(message: unknown): void {
      received.push(message);
      // Two sends while no poll is attached: both wait in the store's outgoing mailbox.
      if (message === 'reply') {
        this.send('a');
        this.send('b');
      }
    }
  }
  const store = new TamperedStore();
  const route = sockjs({ name: 'p', prefix: '/p', session: Echo, store, onError: (error, context) => errors.push({ error, context }) });
  const app = new Koa();
  app.use(route);
  const server = await listen(app);
  return { server, store, route, received, errors, close: async () => {
    await route.close();
    await server.close();
  } };
}

describe('store contents are checked before they become frames', () => {
  it('a corrupt outgoing entry is dropped; the good ones around it go out, in order', async () => {
    const f = await start();
    try {
      const url = `${f.server.url}/p/000/s1`;
      assert.equal((await post(`${url}/xhr`)).body, 'o\n');
      assert.equal((await post(`${url}/xhr_send`, '["reply"]')).status, 204);
      f.store.corruptNext.set('outgoing', CORRUPT_OUTGOING);
      assert.equal((await post(`${url}/xhr`)).body, 'a["a","b"]\n');
      assert.equal(f.errors.length, 1);
      assert.ok(f.errors[0]!.error instanceof StoreError);
      assert.match(String(f.errors[0]!.error), /dropped 6 corrupt outgoing message/);
    } finally {
      await f.close();
    }
  });

  it('a corrupt incoming entry drops only itself, reported; the real messages arrive in order', async () => {
    const f = await start();
    try {
      const url = `${f.server.url}/p/000/s2`;
      assert.equal((await post(`${url}/xhr`)).body, 'o\n');
      // Sent earlier through other processes: two good entries around a broken one.
      f.store.push('s2', 'incoming', ['"m1"', '"m2"']);
      f.store.corruptNext.set('incoming', ['{"broken":']);
      assert.equal((await post(`${url}/xhr_send`, '["m3"]')).status, 204);
      assert.deepEqual(f.received, ['m1', 'm2', 'm3']);
      assert.equal(f.errors.length, 1);
      assert.match(String(f.errors[0]!.error), /dropped 1 corrupt incoming message/);
    } finally {
      await f.close();
    }
  });

  it('a broadcast from another process with a corrupt entry: the good entries reach the sessions', async () => {
    const f = await start();
    try {
      const url = `${f.server.url}/p/000/s3`;
      assert.equal((await post(`${url}/xhr`)).body, 'o\n');
      const poll = open(`${url}/xhr`);
      await new Promise((resolve) => setImmediate(resolve));
      f.store.publish('broadcast:p', `another-node\n${JSON.stringify(['"ok"', ...CORRUPT_OUTGOING, '"fine"'])}`);
      assert.equal(await readAll(await poll.response), 'a["ok","fine"]\n');
      assert.match(String(f.errors[0]?.error), /dropped 6 corrupt outgoing message/);
    } finally {
      await f.close();
    }
  });
});

describe('a failing store shows the client no internal text', () => {
  it('a send that the store cannot look up: 503 "Session store unavailable.", the error to onError', async () => {
    const f = await start();
    try {
      f.store.failing = true;
      const reply = await post(`${f.server.url}/p/000/unknown/xhr_send`, '["x"]');
      assert.equal(reply.status, 503);
      assert.equal(reply.body, 'Session store unavailable.');
      const jsonp = await post(`${f.server.url}/p/000/unknown/jsonp_send`, 'd=%5B%22x%22%5D', { 'Content-Type': 'application/x-www-form-urlencoded' });
      assert.equal(jsonp.status, 503);
      assert.equal(jsonp.body, 'Session store unavailable.');
      assert.equal(f.errors.length, 2);
      assert.match(String(f.errors[0]!.error), /internal detail/);
    } finally {
      await f.close();
    }
  });

  it('a store that cannot subscribe on the first request: 503 with the same text, then it tries again', async () => {
    const f = await start();
    try {
      f.store.failSubscribe = true;
      const first = await request(`${f.server.url}/p/info`);
      assert.equal(first.status, 503);
      assert.equal(first.body, 'Session store unavailable.');
      assert.match(String(f.errors[0]?.error), /internal detail/);
      assert.equal((await request(`${f.server.url}/p/info`)).status, 200);
    } finally {
      await f.close();
    }
  });
});
