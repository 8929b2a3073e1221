/**
 * One error path (issue 11): hook and store errors go to the Koa app's 'error' event by
 * default, carrying the route name and the session id, so an app's existing error reporting
 * sees them; the `onError` option still overrides.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import Koa from 'koa';
import { MemoryStore, Session, sockjs, type SockjsReportedError, type SessionRecordPatch } from '../../src/index.js';
import { listen } from '../helpers/listen.js';
import { post, until } from '../helpers/http-client.js';

class Thrower extends Session {
  override onMessage(message: unknown): void {
    if (message === 'string') throw 'a thrown string';
    throw new TypeError(`cannot handle ${String(message)}`);
  }
}

class Closer extends Session {
  override onOpen(): void {
    this.close();
  }
}

/** A store whose writes of a session's close fail, as a networked store might. */
class FailingUpdates extends MemoryStore {
  // The store contract allows a promise wherever MemoryStore answers at once.
  override update(key: string, patch: SessionRecordPatch): boolean {
    if (patch.closeCode !== undefined) return Promise.reject(new Error('store is down')) as unknown as boolean;
    return super.update(key, patch);
  }
}

async function withApp(mount: (app: Koa) => void, test: (base: string, errors: SockjsReportedError[]) => Promise<void>): Promise<void> {
  const app = new Koa();
  const errors: SockjsReportedError[] = [];
  app.on('error', (error: SockjsReportedError) => errors.push(error));
  mount(app);
  const server = await listen(app);
  try {
    await test(server.url, errors);
  } finally {
    await server.close();
  }
}

describe('hook and store errors take Koa\'s error path', () => {
  it("a throwing hook reaches app.on('error') with the route name and session id", async () => {
    const route = sockjs({ name: 'echo', prefix: '/echo', session: Thrower });
    await withApp((app) => app.use(route), async (base, errors) => {
      const url = `${base}/echo/000/${randomUUID()}`;
      await post(`${url}/xhr`);
      const [session] = route.manager.activeSessions();
      await post(`${url}/xhr_send`, '["boom"]');
      await until(() => errors.length === 1, 'the error to reach the app');
      const [error] = errors;
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, 'cannot handle boom');
      assert.deepEqual((error as SockjsReportedError).sockjs, { route: 'echo', sessionId: session!.id, context: `onMessage of session ${session!.id}` });
      // A thrown non-Error arrives as an Error (Koa's listeners expect one), the value as cause.
      await post(`${url}/xhr_send`, '["string"]');
      await until(() => errors.length === 2, 'the second error');
      assert.ok(errors[1] instanceof Error);
      assert.equal(errors[1]!.cause, 'a thrown string');
      assert.equal(errors[1]!.sockjs?.sessionId, session!.id);
      await route.close();
    });
  });

  it("a failing store reaches app.on('error') with the route name, even for the default route ''", async () => {
    const route = sockjs({ prefix: '/s', session: Closer, store: new FailingUpdates() });
    await withApp((app) => app.use(route), async (base, errors) => {
      const reply = await post(`${base}/s/000/${randomUUID()}/xhr`);
      assert.equal(reply.body, 'o\n');
      await until(() => errors.length === 1, 'the store error');
      assert.equal(errors[0]!.message, 'store is down');
      assert.equal(errors[0]!.sockjs?.route, '');
      assert.match(errors[0]!.sockjs?.context ?? '', /^store record close/);
      assert.equal(typeof errors[0]!.sockjs?.sessionId, 'string');
      await route.close();
    });
  });

  it('one error object thrown by two sessions: each report names its own session', async () => {
    const shared = new Error('shared');
    class SharedThrower extends Session {
      override onMessage(): void {
        throw shared;
      }
    }
    const route = sockjs({ name: 'shared', prefix: '/shared', session: SharedThrower });
    await withApp((app) => app.use(route), async (base, errors) => {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const url = `${base}/shared/000/${randomUUID()}`;
        await post(`${url}/xhr`);
        ids.push(route.manager.activeSessions().find((s) => !ids.includes(s.id))!.id);
        await post(`${url}/xhr_send`, '["x"]');
        await until(() => errors.length === i + 1, 'the error');
      }
      assert.deepEqual(errors.map((error) => error.sockjs?.sessionId), ids);
      assert.equal(errors[0], shared);
      assert.equal(errors[1]!.cause, shared);
      await route.close();
    });
  });

  it('onError overrides: the app hears nothing, onError gets the same annotated error', async () => {
    const handled: Array<{ error: SockjsReportedError; context: string }> = [];
    const route = sockjs({ name: 'own', prefix: '/own', session: Thrower, onError: (error, context) => handled.push({ error: error as SockjsReportedError, context }) });
    await withApp((app) => app.use(route), async (base, errors) => {
      const url = `${base}/own/000/${randomUUID()}`;
      await post(`${url}/xhr`);
      await post(`${url}/xhr_send`, '["x"]');
      await until(() => handled.length === 1, 'onError');
      assert.equal(handled[0]!.error.sockjs?.route, 'own');
      assert.match(handled[0]!.context, /^onMessage of session /);
      assert.deepEqual(errors, []);
      await route.close();
    });
  });
});
