/**
 * Body parsers mounted before sockjs() (issue 11): they read a POST body before the route sees
 * it. Every send must still be delivered when the parser kept the text, and be answered at once
 * with an error naming the fix when it did not; nothing may wait for stream events that
 * already fired. Mounted after sockjs(), a parser never sees a SockJS request.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import Koa from 'koa';
import { koaBody } from 'koa-body';
import { bodyParser as koaBodyparser6 } from '@koa/bodyparser';
import koaBodyparser from 'koa-bodyparser';
import { Session, sockjs } from '../../src/index.js';
import { listen } from '../helpers/listen.js';
import { post } from '../helpers/http-client.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

const PARSERS: Record<string, () => Koa.Middleware> = {
  'koa-body': () => koaBody(),
  '@koa/bodyparser': () => koaBodyparser6(),
  'koa-bodyparser': () => koaBodyparser(),
};

/** xhr_send's content types: what browsers send, what a JSON client sends, XML (old IE), none. */
const XHR_SEND_TYPES = ['text/plain;charset=UTF-8', 'application/json', 'application/xml', undefined] as const;

async function withApp(order: 'before' | 'after', parser: Koa.Middleware, test: (base: string, errors: unknown[]) => Promise<void>, extra?: Koa.Middleware): Promise<void> {
  const app = new Koa();
  const errors: unknown[] = [];
  app.on('error', (error: unknown) => errors.push(error));
  const route = sockjs({ prefix: '/echo', session: Echo });
  if (extra) app.use(extra);
  if (order === 'before') app.use(parser);
  app.use(route);
  if (order === 'after') app.use(parser);
  const server = await listen(app);
  try {
    await test(`${server.url}/echo/000/${randomUUID()}`, errors);
  } finally {
    await route.close();
    await server.close();
  }
}

/** Opens a session over xhr-polling, sends one message, polls it back. */
async function roundTrip(session: string, send: { path: string; body: string; type?: string | undefined }): Promise<{ status: number; body: string; echoed?: string }> {
  assert.equal((await post(`${session}/xhr`)).body, 'o\n');
  const sent = await post(`${session}/${send.path}`, send.body, send.type === undefined ? {} : { 'Content-Type': send.type });
  if (sent.status >= 300) return { status: sent.status, body: sent.body };
  return { status: sent.status, body: sent.body, echoed: (await post(`${session}/xhr`)).body };
}

describe('body parsers mounted before sockjs()', { timeout: 30_000 }, () => {
  it("the issue's smallest case: koa-body, then xhr_send with a browser's text/plain body", async () => {
    await withApp('before', koaBody(), async (session) => {
      assert.equal((await post(`${session}/xhr`)).body, 'o\n');
      const sent = await post(`${session}/xhr_send`, '["hi"]', { 'Content-Type': 'text/plain;charset=UTF-8' });
      assert.equal(sent.status, 204);
      assert.equal((await post(`${session}/xhr`)).body, 'a["hi"]\n');
    });
  });

  for (const [name, parser] of Object.entries(PARSERS)) {
    for (const type of XHR_SEND_TYPES) {
      const exactTextLost = name === 'koa-body' && type === 'application/json';
      const what = exactTextLost ? 'answers 500 at once, naming the cause and the fix' : 'delivers the messages';
      it(`${name}: xhr_send with ${type ?? 'no content type'} ${what}`, async () => {
        await withApp('before', parser(), async (session, errors) => {
          const result = await roundTrip(session, { path: 'xhr_send', body: '["a\\u2028", "\\"b\\""]', type });
          if (exactTextLost) {
            assert.equal(result.status, 500);
            assert.match(result.body, /body parser mounted before sockjs\(\)/);
            assert.match(result.body, /Mount sockjs\(\) before the body parser/);
            assert.match(result.body, /includeUnparsed: true/);
            return;
          }
          assert.equal(result.status, 204);
          assert.equal(result.echoed, 'a["a\\u2028","\\"b\\""]\n');
          assert.deepEqual(errors, []);
        });
      });
    }

    it(`${name}: jsonp_send form-encoded and raw deliver the messages`, async () => {
      await withApp('before', parser(), async (session) => {
        const form = await roundTrip(session, { path: 'jsonp_send', body: 'd=' + encodeURIComponent('["x&y=z", "+"]'), type: 'application/x-www-form-urlencoded' });
        assert.deepEqual(form, { status: 200, body: 'ok', echoed: 'a["x&y=z","+"]\n' });
        const raw = await post(`${session}/jsonp_send`, '["raw"]', { 'Content-Type': 'text/plain' });
        assert.equal(raw.status, 200);
        assert.equal((await post(`${session}/xhr`)).body, 'a["raw"]\n');
      });
    });

    it(`${name}: a form without d is "Payload expected.", as without a parser`, async () => {
      await withApp('before', parser(), async (session) => {
        const result = await roundTrip(session, { path: 'jsonp_send', body: 'e=1', type: 'application/x-www-form-urlencoded' });
        assert.deepEqual(result, { status: 500, body: 'Payload expected.' });
      });
    });

    it(`${name} mounted after sockjs(): never runs for SockJS requests`, async () => {
      let parsed = 0;
      const counting: Koa.Middleware = async (ctx, next) => {
        parsed++;
        await next();
      };
      await withApp('after', counting, async (session) => {
        assert.equal((await post(`${session}/xhr`)).body, 'o\n');
        for (const type of XHR_SEND_TYPES) {
          const sent = await post(`${session}/xhr_send`, '["m"]', type === undefined ? {} : { 'Content-Type': type });
          assert.equal(sent.status, 204);
          assert.equal((await post(`${session}/xhr`)).body, 'a["m"]\n');
        }
      });
      assert.equal(parsed, 0);
    });
  }

  it('koa-body with includeUnparsed: application/json is delivered from the raw text it kept', async () => {
    await withApp('before', koaBody({ includeUnparsed: true }), async (session) => {
      const result = await roundTrip(session, { path: 'xhr_send', body: '["kept"]', type: 'application/json' });
      assert.equal(result.status, 204);
      assert.equal(result.echoed, 'a["kept"]\n');
    });
  });

  it('the error for a body the parser did not keep reaches the app (the application must change), and the session lives on', async () => {
    await withApp('before', koaBody(), async (session, errors) => {
      const result = await roundTrip(session, { path: 'xhr_send', body: '["lost"]', type: 'application/json' });
      assert.equal(result.status, 500);
      assert.equal(errors.length, 1);
      assert.equal((errors[0] as { code?: string }).code, 'SOCKJS_ERR_BODY_CONSUMED');
      const again = await post(`${session}/xhr_send`, '["after"]', { 'Content-Type': 'text/plain' });
      assert.equal(again.status, 204);
      assert.equal((await post(`${session}/xhr`)).body, 'a["after"]\n');
    });
  });

  it('a body over maxMessageSize kept by a parser is 413, like one read by the route', async () => {
    const app = new Koa();
    app.use(koaBodyparser6({ enableTypes: ['json', 'form', 'text'] }));
    const route = sockjs({ prefix: '/echo', session: Echo, maxMessageSize: 16 });
    app.use(route);
    const server = await listen(app);
    const session = `${server.url}/echo/000/${randomUUID()}`;
    assert.equal((await post(`${session}/xhr`)).body, 'o\n');
    const sent = await post(`${session}/xhr_send`, JSON.stringify(['x'.repeat(100)]), { 'Content-Type': 'text/plain' });
    assert.equal(sent.status, 413);
    await route.close();
    await server.close();
  });
});
