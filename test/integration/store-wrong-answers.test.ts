/**
 * A store that answers what the store contract does not allow (docs/stores.md; issue 13): a
 * `create` answering nothing, a `get` answering a string or a record with no state, a `take`
 * answering a string. Each fails like a store that rejected: a StoreError through onError
 * naming the method and what came back, and 503 or `c[3503,...]` for the request, never a
 * TypeError from deep inside, a silent 404, or a poll answered with an empty body.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import Koa from 'koa';
import { MemoryStore, Session, StoreError, sockjs, type SockjsMiddleware } from '../../src/index.js';
import { post } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';

const STORE_CLOSE = 'c[3503,"Session store unavailable"]\n';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

const opened: { route: SockjsMiddleware; server: Listening }[] = [];
afterEach(async () => {
  for (const { route, server } of opened.splice(0)) {
    await route.close();
    await server.close();
  }
});

/** A route on a MemoryStore that `spoil` made answer wrongly, and the errors it reports. */
async function serve(spoil: (store: MemoryStore) => void): Promise<{ url: string; errors: unknown[]; store: MemoryStore }> {
  const store = new MemoryStore();
  const errors: unknown[] = [];
  const route = sockjs({ prefix: '/s', session: Echo, store, onError: (error) => void errors.push(error) });
  const app = new Koa();
  app.use(route);
  const server = await listen(app);
  opened.push({ route, server });
  spoil(store);
  return { url: `${server.url}/s`, errors, store };
}

function assertStoreError(errors: unknown[], pattern: RegExp): void {
  const found = errors.find((error) => error instanceof StoreError && pattern.test(error.message));
  assert.ok(found, `a StoreError matching ${pattern} among: ${errors.map((error) => String(error)).join(' | ')}`);
  assert.ok(!errors.some((error) => error instanceof TypeError), `no TypeError from inside: ${errors.map(String).join(' | ')}`);
}

describe('a store answering what the contract does not allow', () => {
  it('create answering nothing: the opening poll gets the store close frame, onError a StoreError', async () => {
    const { url, errors } = await serve((store) => {
      store.create = (() => undefined) as never;
    });
    const reply = await post(`${url}/1/a/xhr`);
    assert.equal(reply.body, STORE_CLOSE);
    assertStoreError(errors, /create\(\) answered undefined, not \{ record, created \}/);
  });

  it('get answering a string: a send is answered 503, not 404 as if there were no session', async () => {
    const { url, errors } = await serve((store) => {
      store.get = (() => 'a record, honest') as never;
    });
    const reply = await post(`${url}/1/b/xhr_send`, '["x"]');
    assert.equal(reply.status, 503);
    assertStoreError(errors, /get\(\) answered the string "a record, honest", not a SessionRecord/);
  });

  it('get answering a record whose state is no state: 503, not a session taken as closed', async () => {
    const { url, errors } = await serve((store) => {
      store.get = ((key: string) => ({ id: key, owner: 'elsewhere', state: 99, seenAt: 0, transport: 'xhr-polling' })) as never;
    });
    const reply = await post(`${url}/1/d/xhr_send`, '["x"]');
    assert.equal(reply.status, 503);
    assertStoreError(errors, /get\(\) answered a record whose state is number 99, not a SessionState/);
  });

  it('take answering a string: the poll gets a close frame, not an empty answer', async () => {
    const { url, errors, store } = await serve(() => {});
    assert.equal((await post(`${url}/1/e/xhr`)).body, 'o\n');
    store.take = (() => 'hello') as never;
    const reply = await post(`${url}/1/e/xhr`);
    // A take that fails while a receiver attaches ends the session with 3503, whether the store
    // rejected or answered wrongly (docs/stores.md rule 7; channel.ts, #attachFailed).
    assert.equal(reply.body, 'c[3503,"Session store unavailable"]\n');
    assertStoreError(errors, /take\(\) answered the string "hello", not an array of messages/);
  });
});
