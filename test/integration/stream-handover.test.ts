/**
 * How a streaming response (xhr_streaming, eventsource, htmlfile) leaves the middleware chain
 * (src/http/response-gate.ts), in Koa 3 and Koa 2: Koa's own respond() takes the stream's head
 * from `ctx.respond` once the whole chain has unwound, without piping the body (Koa 3 pipes
 * through stream.pipeline(), about 7 KB of heap per idle stream), and headers that middleware
 * above sets after `await next()` land. Middleware above that reads `ctx.respond` itself, replaces
 * the body, throws, or takes the response over gets what it would get without SockJS.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import { pipeline, type Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import Koa2 from 'koa2';
import { ResponseGate } from '../../src/http/response-gate.js';
import { Session, sockjs } from '../../src/index.js';
import { open, post, readAll, request } from '../helpers/http-client.js';
import { listen } from '../helpers/listen.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

interface StreamKind {
  readonly path: string;
  readonly method: string;
  /** The open frame, as the transport frames it. */
  readonly opened: string;
  /** The echo of ["x"], as the transport frames it. */
  readonly echo: string;
}

const STREAMS: readonly StreamKind[] = [
  { path: 'xhr_streaming', method: 'POST', opened: '\no\n', echo: 'a["x"]\n' },
  { path: 'eventsource', method: 'GET', opened: 'data: o\r\n\r\n', echo: 'data: a["x"]\r\n\r\n' },
  { path: 'htmlfile?c=cb', method: 'GET', opened: 'p("o");', echo: 'p("a[\\"x\\"]");' },
];

/** Reads `res` until its body so far contains `text`. */
function readUntil(res: IncomingMessage, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    const onData = (chunk: Buffer): void => {
      body += chunk.toString();
      if (!body.includes(text)) return;
      res.off('data', onData);
      resolve(body);
    };
    res.on('data', onData);
    res.on('end', () => reject(new Error(`the response ended before ${JSON.stringify(text)}: ${JSON.stringify(body.slice(-200))}`)));
  });
}

/** Counts the gates piped (Koa 2 calls pipe() itself, Koa 3 through stream.pipeline()). */
let piped = 0;
const pipe = ResponseGate.prototype.pipe;
before(() => {
  ResponseGate.prototype.pipe = function countedPipe<T extends NodeJS.WritableStream>(this: ResponseGate, destination: T): T {
    piped++;
    return pipe.call(this, destination) as T;
  };
});
after(() => {
  ResponseGate.prototype.pipe = pipe;
});

for (const [version, App] of [['Koa 3', Koa], ['Koa 2', Koa2]] as const) {
  describe(`${version}: a stream leaves the chain through respond()`, { timeout: 20_000 }, () => {
    /** An app with `upstream` above an echo route; `errors` collects the app's errors. */
    async function serve(upstream: Koa.Middleware) {
      const app = new App();
      const errors: Error[] = [];
      app.on('error', (error: Error) => errors.push(error));
      app.use(upstream);
      const route = sockjs({ prefix: '/echo', session: Echo });
      app.use(route as Koa.Middleware);
      const server = await listen(app as Koa);
      return {
        url: (path: string) => `${server.url}/echo/000/${randomUUID()}/${path}`,
        route,
        errors,
        close: async () => {
          await route.close();
          await server.close();
        },
      };
    }

    for (const kind of STREAMS) {
      it(`${kind.path}: not piped; what middleware above sets after next(), having read ctx.respond, lands`, async () => {
        const seen: unknown[] = [];
        const harness = await serve(async (ctx, next) => {
          await next();
          // Read by middleware, not by Koa's respond(): the value as it was, nothing opens.
          seen.push(ctx.respond, ctx.res.headersSent);
          await new Promise((resolve) => setImmediate(resolve));
          ctx.set('X-After-Next', 'yes');
        });
        try {
          const before = piped;
          const url = harness.url(kind.path);
          const { response, abort } = open(url, { method: kind.method });
          const res = await response;
          assert.equal(res.statusCode, 200);
          assert.equal(res.headers['x-after-next'], 'yes');
          assert.deepEqual(seen, [undefined, false]);
          await readUntil(res, kind.opened);
          const echoed = readUntil(res, kind.echo);
          assert.equal((await post(`${url.replace(/\/[^/]+$/, '')}/xhr_send`, '["x"]')).status, 204);
          await echoed;
          assert.equal(piped, before, 'Koa did not pipe the gate');
          abort();
          assert.deepEqual(harness.errors, []);
        } finally {
          await harness.close();
        }
      });
    }

    it('middleware above replaces the body after next(): Koa sends that body alone (no prelude: the stream never opened)', async () => {
      const harness = await serve(async (ctx, next) => {
        await next();
        ctx.body = 'replaced';
      });
      try {
        const before = piped;
        const reply = await post(harness.url('xhr_streaming'));
        assert.equal(reply.status, 200);
        assert.equal(reply.body, 'replaced');
        assert.equal(piped, before);
        assert.deepEqual(harness.errors, []);
      } finally {
        await harness.close();
      }
    });

    it('middleware above throws after next(): a 500, the error is the app\'s', async () => {
      const harness = await serve(async (ctx, next) => {
        await next();
        if (ctx.path.endsWith('/eventsource')) throw new Error('thrown above, after next()');
      });
      try {
        const reply = await request(harness.url('eventsource'));
        assert.equal(reply.status, 500);
        assert.equal(reply.body, 'Internal Server Error');
        assert.deepEqual(harness.errors.map((error) => error.message), ['thrown above, after next()']);
      } finally {
        await harness.close();
      }
    });

    it('middleware above takes the response over (ctx.respond = false): Koa and the gate leave it alone', async () => {
      const harness = await serve(async (ctx, next) => {
        await next();
        ctx.respond = false;
        ctx.res.writeHead(202, { 'Content-Type': 'text/plain' });
        ctx.res.end('taken over');
      });
      try {
        const reply = await post(harness.url('xhr_streaming'));
        assert.equal(reply.status, 202);
        assert.equal(reply.body, 'taken over');
        assert.deepEqual(harness.errors, []);
      } finally {
        await harness.close();
      }
    });

    it('HEAD on a stream: Koa answers the head alone, nothing opens', async () => {
      const harness = await serve((_ctx, next) => next());
      try {
        const before = piped;
        const reply = await request(harness.url('eventsource'), { method: 'HEAD' });
        assert.equal(reply.body, '');
        assert.equal(piped, before);
      } finally {
        await harness.close();
      }
    });
  });
}

describe('a gate that Koa pipes (a Koa whose respond() is not recognised)', () => {
  for (const how of ['pipe()', 'stream.pipeline()'] as const) {
    it(`${how}: opens on the response; a client that goes away ends it quietly`, async () => {
      const opened: Writable[] = [];
      const failures: unknown[] = [];
      const server = await listen((_req, res) => {
        const gate = new ResponseGate((destination) => {
          opened.push(destination);
          destination.write('opened\n');
        });
        if (how === 'pipe()') gate.pipe(res);
        // As Koa 3 does: it hands pipeline() any stream body.
        else pipeline(gate as unknown as NodeJS.ReadableStream, res, (error) => error && failures.push(error));
      });
      try {
        const { response, abort } = open(server.url, { method: 'GET' });
        const res = await response;
        await readUntil(res, 'opened\n');
        assert.equal(opened.length, 1);
        assert.ok(opened[0] instanceof http.ServerResponse);
        const closed = new Promise((resolve) => opened[0]!.once('close', resolve));
        abort();
        await closed;
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(failures, []);
      } finally {
        await server.close();
      }
    });
  }

  it('a piped gate answers a late respond read with false (once open, the response is not Koa\'s)', async () => {
    const app = new Koa();
    let late: unknown;
    app.use(async (ctx) => {
      const gate = new ResponseGate((destination) => destination.write('x'));
      gate.attach(ctx);
      gate.pipe(ctx.res);
      late = ctx.respond;
      ctx.res.end();
    });
    const server = await listen(app);
    try {
      const res = await new Promise<IncomingMessage>((resolve) => http.get(server.url, resolve));
      assert.equal(await readAll(res), 'x');
      assert.equal(late, false);
    } finally {
      await server.close();
    }
  });
});
