/**
 * Middleware mounted above sockjs() (issue 11): headers it sets after `await next()` arrive on
 * every SockJS response, because Koa writes every head after the chain unwound (ctx.body for
 * answers that end at once and long polls, which keep the chain waiting for their answer; a
 * gate Koa opens for streams), and nothing throws
 * ERR_HTTP_HEADERS_SENT or reaches the app as an error. Real middleware from npm: koa-session,
 * @koa/cors, koa-helmet, koa-compress, koa-logger, and a response-time middleware.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import Koa from 'koa';
import cors from '@koa/cors';
import compress from 'koa-compress';
import helmet from 'koa-helmet';
import logger from 'koa-logger';
import session from 'koa-session';
import { Session, sockjs, type SockjsManagedOptions } from '../../src/index.js';
import { listen } from '../helpers/listen.js';
import { open, post, readAll, request, type Reply } from '../helpers/http-client.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

/** A response-time middleware: the ordinary header-after-next pattern. */
const responseTime: Koa.Middleware = async (ctx, next) => {
  const started = process.hrtime.bigint();
  await next();
  ctx.set('X-Response-Time', `${Number(process.hrtime.bigint() - started) / 1e6}ms`);
};

interface Harness {
  base: string;
  errors: unknown[];
  close(): Promise<void>;
}

async function start(upstream: Koa.Middleware[], options: SockjsManagedOptions = {}): Promise<Harness> {
  const app = new Koa();
  app.keys = ['test-key'];
  const errors: unknown[] = [];
  app.on('error', (error: unknown) => errors.push(error));
  for (const middleware of upstream) app.use(middleware);
  const route = sockjs({ prefix: '/echo', session: Echo, ...options });
  app.use(route);
  const server = await listen(app);
  return {
    base: server.url,
    errors,
    close: async () => {
      await route.close();
      await server.close();
    },
  };
}

/** The head of a stream or long poll, then the first `bytes` of its body; the request is then aborted. */
async function head(url: string, options: { method?: string; minBytes?: number } = {}): Promise<{ res: IncomingMessage; body: string }> {
  const { response, abort } = open(url, { method: options.method ?? 'POST' });
  const res = await response;
  let body = '';
  await new Promise<void>((resolve) => {
    res.on('data', (chunk: Buffer) => {
      body += chunk.toString();
      if (body.length >= (options.minBytes ?? 1)) resolve();
    });
    res.on('end', resolve);
  });
  abort();
  return { res, body };
}

/** Every kind of SockJS response: immediate answers, a long poll, streams. Returns each head. */
async function everyResponse(base: string): Promise<Array<{ what: string; status: number; headers: Record<string, string | string[] | undefined> }>> {
  const heads: Array<{ what: string; status: number; headers: Record<string, string | string[] | undefined> }> = [];
  const add = (what: string, reply: Reply | IncomingMessage): void => {
    heads.push({ what, status: 'status' in reply ? reply.status : reply.statusCode!, headers: reply.headers });
  };
  const url = `${base}/echo/000/${randomUUID()}`;
  add('greeting', await request(`${base}/echo`));
  add('info', await request(`${base}/echo/info`));
  add('iframe', await request(`${base}/echo/iframe.html`));
  add('preflight', await request(`${base}/echo/info`, { method: 'OPTIONS' }));
  add('404', await request(`${base}/echo/nope/nope/nope`));
  add('405', await request(`${base}/echo/000/x/xhr`, { method: 'GET' }));
  add('xhr (answered at once)', await post(`${url}/xhr`));
  const sent = await post(`${url}/xhr_send`, '["x"]', { 'Content-Type': 'text/plain' });
  assert.equal(sent.headers['content-type'], 'text/plain; charset=UTF-8', 'xhr_send keeps its type on the 204');
  add('xhr_send', sent);
  add('jsonp_send', await post(`${url}/jsonp_send`, 'd=%5B%22y%22%5D', { 'Content-Type': 'application/x-www-form-urlencoded' }));
  add('xhr (queued messages)', await post(`${url}/xhr`));
  // A long poll: its head goes out with the answer, which comes after the route returned.
  const poll = open(`${url}/xhr`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await post(`${url}/xhr_send`, '["late"]');
  const polled = await poll.response;
  assert.equal(await readAll(polled), 'a["late"]\n');
  add('xhr (long poll)', polled);
  add('xhr_streaming', (await head(`${base}/echo/000/${randomUUID()}/xhr_streaming`, { minBytes: 2049 })).res);
  add('eventsource', (await head(`${base}/echo/000/${randomUUID()}/eventsource`, { method: 'GET' })).res);
  add('htmlfile', (await head(`${base}/echo/000/${randomUUID()}/htmlfile?c=cb`, { method: 'GET' })).res);
  add('jsonp', (await head(`${base}/echo/000/${randomUUID()}/jsonp?c=cb`, { method: 'GET' })).res);
  return heads;
}

describe('middleware above sockjs()', { timeout: 30_000 }, () => {
  it('a header set after await next() arrives on every SockJS response, a cookie too', async () => {
    const after: Koa.Middleware = async (ctx, next) => {
      await next();
      ctx.set('X-After-Next', 'yes');
      ctx.cookies.set('late', 'cookie', { signed: false });
    };
    const harness = await start([after]);
    try {
      for (const { what, headers } of await everyResponse(harness.base)) {
        assert.equal(headers['x-after-next'], 'yes', what);
        assert.match(String(headers['set-cookie']), /late=cookie/, what);
      }
      assert.deepEqual(harness.errors, []);
    } finally {
      await harness.close();
    }
  });

  it('koa-session: its cookie arrives on SockJS responses, no error; jsessionid keeps it', async () => {
    const touch: Koa.Middleware = async (ctx, next) => {
      ctx.session!['visits'] = ((ctx.session!['visits'] as number | undefined) ?? 0) + 1;
      await next();
    };
    let app: Koa | undefined;
    const sessionMiddleware: Koa.Middleware = (ctx, next) => {
      app ??= ctx.app;
      return session({ key: 'app.sess' }, ctx.app)(ctx, next);
    };
    const harness = await start([sessionMiddleware, touch], { jsessionid: true });
    try {
      for (const { what, headers } of await everyResponse(harness.base)) {
        const cookies = String(headers['set-cookie']);
        assert.match(cookies, /app\.sess=/, what);
      }
      // A cookie set before next() survives the route's own JSESSIONID.
      const reply = await post(`${harness.base}/echo/000/${randomUUID()}/xhr`);
      assert.match(String(reply.headers['set-cookie']), /app\.sess=.*JSESSIONID=dummy|JSESSIONID=dummy.*app\.sess=/);
      assert.deepEqual(harness.errors, []);
    } finally {
      await harness.close();
    }
  });

  it('a response-time middleware times every SockJS response', async () => {
    const harness = await start([responseTime]);
    try {
      for (const { what, headers } of await everyResponse(harness.base)) assert.match(String(headers['x-response-time']), /ms$/, what);
      assert.deepEqual(harness.errors, []);
    } finally {
      await harness.close();
    }
  });

  it('a long poll keeps the chain waiting: middleware above resumes with the answer in ctx.body', async () => {
    const seen: { body: unknown; at: number }[] = [];
    const watch: Koa.Middleware = async (ctx, next) => {
      await next();
      if (ctx.path.endsWith('/xhr')) seen.push({ body: ctx.body, at: Date.now() });
    };
    const harness = await start([watch]);
    try {
      const url = `${harness.base}/echo/000/${randomUUID()}`;
      await post(`${url}/xhr`);
      const poll = open(`${url}/xhr`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const sentAt = Date.now();
      await post(`${url}/xhr_send`, '["late"]');
      assert.equal(await readAll(await poll.response), 'a["late"]\n');
      assert.equal(seen.length, 2);
      assert.equal(seen[1]!.body, 'a["late"]\n', 'the answer is a plain body, not a stream');
      assert.ok(seen[1]!.at >= sentAt, 'next() resolved only once the poll was answered');
      assert.deepEqual(harness.errors, []);
    } finally {
      await harness.close();
    }
  });

  it('koa-logger logs SockJS requests, streams included, and breaks nothing', async () => {
    const lines: string[] = [];
    const harness = await start([logger((line) => lines.push(line))]);
    try {
      const heads = await everyResponse(harness.base);
      assert.ok(heads.every(({ status }) => status < 500));
      assert.ok(lines.some((line) => /<-- POST \/echo\/000\/.+\/xhr_streaming/.test(line)));
      assert.ok(lines.some((line) => /--> POST \/echo\/000\/.+\/xhr_send/.test(line)));
      assert.deepEqual(harness.errors, []);
    } finally {
      await harness.close();
    }
  });

  it('@koa/cors in front: SockJS still answers with its own CORS headers', async () => {
    const harness = await start([cors({ credentials: true })]);
    try {
      const origin = 'http://page.example';
      const url = `${harness.base}/echo/000/${randomUUID()}`;
      for (const reply of [await post(`${url}/xhr`, '', { Origin: origin }), await post(`${url}/xhr_send`, '["c"]', { Origin: origin }), await request(`${harness.base}/echo/info`, { headers: { Origin: origin } })]) {
        assert.equal(reply.headers['access-control-allow-origin'], origin);
        assert.equal(reply.headers['access-control-allow-credentials'], 'true');
      }
      assert.deepEqual(harness.errors, []);
    } finally {
      await harness.close();
    }
  });

  it('a Vary set above, before or after await next(), is merged with the Origin SockJS varies on', async () => {
    const before: Koa.Middleware = async (ctx, next) => {
      ctx.vary('Accept-Encoding');
      await next();
    };
    const afterNext: Koa.Middleware = async (ctx, next) => {
      await next();
      ctx.vary('Accept-Language');
    };
    const plain = await start([]);
    const merged = await start([before, afterNext]);
    try {
      const polls = async (base: string): Promise<Reply[]> => {
        const url = `${base}/echo/000/${randomUUID()}`;
        return [await post(`${url}/xhr`), await post(`${url}/xhr_send`, '["v"]'), await post(`${url}/xhr`)];
      };
      for (const reply of await polls(plain.base)) assert.equal(reply.headers.vary, 'Origin');
      for (const reply of await polls(merged.base)) assert.equal(reply.headers.vary, 'Accept-Encoding, Origin, Accept-Language');
      assert.deepEqual([...plain.errors, ...merged.errors], []);
    } finally {
      await plain.close();
      await merged.close();
    }
  });

  it('koa-helmet in front: every SockJS response works as without it; the iframe page and htmlfile keep their own policy', async () => {
    const harness = await start([helmet()]);
    try {
      const heads = await everyResponse(harness.base);
      const byWhat = new Map(heads.map((h) => [h.what, h]));
      for (const [what, status] of [['greeting', 200], ['info', 200], ['xhr (answered at once)', 200], ['xhr_send', 204], ['jsonp_send', 200], ['xhr (long poll)', 200], ['xhr_streaming', 200], ['eventsource', 200], ['jsonp', 200]] as const) {
        assert.equal(byWhat.get(what)?.status, status, what);
      }
      // The script a jsonp poll answers is loaded by a page of another origin.
      assert.equal(byWhat.get('jsonp')!.headers['cross-origin-resource-policy'], 'cross-origin');
      // The documents framed in the iframe page keep their own policy, with no script-src: the
      // htmlfile transport is nothing but inline scripts.
      for (const what of ['iframe', 'htmlfile']) assert.equal(byWhat.get(what)!.headers['content-security-policy'], "frame-ancestors 'self'", what);
      assert.deepEqual(harness.errors, []);
    } finally {
      await harness.close();
    }
  });

  it('koa-compress in front (threshold 0): streams stay live and uncompressed; messages arrive while they are open', async () => {
    const harness = await start([compress({ threshold: 0 })]);
    try {
      const url = `${harness.base}/echo/000/${randomUUID()}`;
      const { response, abort } = open(`${url}/xhr_streaming`, { headers: { 'Accept-Encoding': 'gzip' } });
      const res = await response;
      assert.equal(res.headers['content-encoding'], undefined);
      let received = '';
      const echoed = new Promise<void>((resolve) => {
        res.on('data', (chunk: Buffer) => {
          received += chunk.toString();
          if (received.endsWith('a["live"]\n')) resolve();
        });
      });
      await new Promise<void>((resolve) => {
        const check = (): void => (received.includes('o\n') ? resolve() : void setImmediate(check));
        check();
      });
      assert.equal((await post(`${url}/xhr_send`, '["live"]')).status, 204);
      await echoed;
      abort();
      assert.deepEqual(harness.errors, []);
    } finally {
      await harness.close();
    }
  });
});
