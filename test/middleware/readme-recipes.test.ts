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
import { sockjs, Session } from '../../src/index.js';
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
});
