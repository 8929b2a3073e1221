/**
 * The README's "In a Koa app" recipes run as written (issue 11): each block marked
 * `// Recipe: <name>` is saved next to this test (importing 'koa-sockjs' resolves to the built
 * package), started in a child process on a free port instead of 3000, and exercised. The
 * @koa/router limitation the README states is shown in-process.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import Koa from 'koa';
import Router from '@koa/router';
import mount from 'koa-mount';
import { sockjs, Session, UnknownRouteError } from '../../src/index.js';
import { listen } from '../helpers/listen.js';
import { post, request } from '../helpers/http-client.js';
import { FrameClient } from '../helpers/ws-client.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
const recipes = new Map(
  [...readFileSync(README, 'utf8').matchAll(/```ts\n\/\/ Recipe: ([^\n]+)\n([\s\S]*?)```/g)].map((match) => [match[1]!, match[2]!]),
);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const children: ChildProcess[] = [];
const files: string[] = [];
after(() => {
  for (const child of children) child.kill();
  for (const file of files) rmSync(file, { force: true });
});

/** Starts the recipe; resolves with its base URL once `probe` answers. */
async function startRecipe(name: string, probe: string): Promise<string> {
  const source = recipes.get(name);
  assert.ok(source, `README has no recipe "${name}"`);
  assert.ok(source.includes('listen(3000)'), `recipe "${name}" listens on 3000`);
  const port = await freePort();
  const file = fileURLToPath(new URL(`./recipe-${randomUUID()}.tmp.ts`, import.meta.url));
  writeFileSync(file, source.replace('listen(3000)', 'listen(Number(process.env.PORT))'));
  files.push(file);
  // stdout is koa-logger's in one recipe: not wanted in the test output.
  const child = spawn(process.execPath, [TSX, file], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await request(base + probe);
      return base;
    } catch (error) {
      if (attempt > 400 || child.exitCode !== null) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The greeting, /info, a session over xhr-polling with a send, and a websocket session. */
async function speaksSockjs(url: string): Promise<void> {
  assert.equal((await request(url)).body, 'Welcome to SockJS!\n');
  assert.equal((await request(`${url}/info`)).status, 200);
  const session = `${url}/000/${randomUUID()}`;
  assert.equal((await post(`${session}/xhr`)).body, 'o\n');
  assert.equal((await post(`${session}/xhr_send`, '["hi"]', { 'Content-Type': 'application/json' })).status, 204);
  const ws = new FrameClient(`${url}/0/0/websocket`);
  assert.deepEqual(await ws.waitFor(1), ['o']);
  await ws.close();
}

describe('README: In a Koa app', { timeout: 120_000 }, () => {
  it('has the four recipes', () => {
    assert.deepEqual([...recipes.keys()], ['mounting order', '@koa/router', 'koa-mount', 'a Koa sub-app']);
  });

  it('mounting order: SockJS works, and the body parser after it still serves the app', async () => {
    const base = await startRecipe('mounting order', '/chat');
    await speaksSockjs(`${base}/chat`);
    const note = await post(`${base}/notes`, '{"text":"kept"}', { 'Content-Type': 'application/json' });
    assert.deepEqual(JSON.parse(note.body), { saved: { text: 'kept' } });
  });

  it('@koa/router: router.all over the prefix and everything under it', async () => {
    const base = await startRecipe('@koa/router', '/');
    await speaksSockjs(`${base}/chat`);
    assert.equal((await request(base + '/')).body, 'home');
  });

  it('koa-mount: the prefix is relative to the mount path', async () => {
    const base = await startRecipe('koa-mount', '/realtime/chat');
    await speaksSockjs(`${base}/realtime/chat`);
    assert.equal((await request(`${base}/chat`)).status, 404);
  });

  it('a Koa sub-app: its route serves under the mount path and joins the parent app', async () => {
    const base = await startRecipe('a Koa sub-app', '/realtime/chat');
    // The probe above reached the route already; a fresh start is checked in-process below.
    await speaksSockjs(`${base}/realtime/chat`);
    assert.match((await request(base + '/')).body, /^\d+ sessions$/);
  });

  it("@koa/router's router.use() runs only when a route with methods matches: SockJS never sees its URLs", async () => {
    const app = new Koa();
    const router = new Router();
    const chat = sockjs({ prefix: '/chat', session: Session });
    router.use('/chat', chat);
    router.get('/', (ctx) => {
      ctx.body = 'home';
    });
    app.use(router.routes());
    const server = await listen(app);
    assert.equal((await post(`${server.url}/chat/000/${randomUUID()}/xhr`)).status, 404);
    assert.equal(chat.manager.size, 0);
    await chat.close();
    await server.close();
  });

  it('ctx.sockjs(name) finds a route behind @koa/router, koa-mount or a sub-app before any SockJS request reached it', async () => {
    const realtime = new Koa();
    const sub = sockjs({ name: 'sub', prefix: '/chat', session: Session });
    realtime.use(sub);
    const routed = sockjs({ name: 'routed', prefix: '/api/chat', session: Session });
    const router = new Router({ prefix: '/api' });
    router.all(['/chat', '/chat/{*rest}'], routed);
    // The same prefix as the sub-app's route, mounted elsewhere: no conflict.
    const mounted = sockjs({ name: 'mounted', prefix: '/chat', session: Session });
    const app = new Koa();
    app.use(router.routes());
    app.use(mount('/m', mounted));
    app.use(mount('/realtime', realtime));
    app.use((ctx) => {
      ctx.body = ['routed', 'mounted', 'sub'].map((name) => `${name}: ${ctx.sockjs(name).size}`).join(', ');
    });
    const server = await listen(app);
    try {
      // Used to be a 500 (UnknownRouteError) until a client had connected to each route.
      const fresh = await request(`${server.url}/`);
      assert.equal(fresh.status, 200);
      assert.equal(fresh.body, 'routed: 0, mounted: 0, sub: 0');
      assert.equal((await post(`${server.url}/api/chat/000/${randomUUID()}/xhr`)).body, 'o\n');
      assert.equal((await post(`${server.url}/m/chat/000/${randomUUID()}/xhr`)).body, 'o\n');
      assert.equal((await request(`${server.url}/`)).body, 'routed: 1, mounted: 1, sub: 0');
    } finally {
      for (const route of [sub, routed, mounted]) await route.close();
      await server.close();
    }
  });

  it("two routes with one prefix mounted at two paths are no conflict; at one path they are", async () => {
    const [a, b, c] = [sockjs({ name: 'a', prefix: '/chat' }), sockjs({ name: 'b', prefix: '/chat' }), sockjs({ name: 'c', prefix: '/chat' })];
    const app = new Koa();
    const errors: Error[] = [];
    app.on('error', (error: Error) => errors.push(error));
    app.use(mount('/a', a));
    app.use(mount('/b', b));
    app.use(mount('/a', c));
    const server = await listen(app);
    try {
      assert.equal((await request(`${server.url}/a/chat/info`)).status, 200);
      assert.equal((await request(`${server.url}/b/chat/info`)).status, 200);
      assert.equal(errors.length, 0, errors.join('\n'));
      // c is reached by a request under /a that a passes on: it answers the same path as a.
      assert.equal((await request(`${server.url}/a/other`)).status, 500);
      assert.match(errors[0]?.message ?? '', /"\/chat" \(mounted at "\/a"\) is used by two SockJS routes \("a" and "c"\)/);
    } finally {
      for (const route of [a, b, c]) await route.close();
      await server.close();
    }
  });

  it('two apps of one process, each with a route of the same name no request reached yet: no guess, UnknownRouteError', async () => {
    const routes = [sockjs({ name: 'twin', prefix: '/one' }), sockjs({ name: 'twin', prefix: '/two' })];
    const app = new Koa();
    app.use(mount('/x', routes[0]!));
    const errors: unknown[] = [];
    app.use((ctx) => {
      try {
        ctx.sockjs('twin');
      } catch (error) {
        errors.push(error);
      }
      ctx.body = 'ok';
    });
    const server = await listen(app);
    try {
      await request(`${server.url}/`);
      assert.ok(errors[0] instanceof UnknownRouteError);
      // Once its first request has reached it, the route is the app's.
      await request(`${server.url}/x/one/info`);
      errors.length = 0;
      await request(`${server.url}/`);
      assert.deepEqual(errors, []);
    } finally {
      for (const route of routes) await route.close();
      await server.close();
    }
  });
});
