/**
 * `DEBUG=koa-sockjs:*` shows the life of a session (issue 11): created (route, transport),
 * opened, receiver attached and detached, closed (code), removed; one line each, the route
 * named even when it is '' (the default), and never a message body.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { format } from 'node:util';
import { after, before, describe, it } from 'node:test';
import createDebug from 'debug';
import Koa from 'koa';
import { Session, sockjs } from '../../src/index.js';
import { listen } from '../helpers/listen.js';
import { open, post, readAll, until } from '../helpers/http-client.js';
import { FrameClient } from '../helpers/ws-client.js';

const SECRET = 'do-not-log-this-message';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
    if (message === 'bye') this.close(3001, 'done here');
  }
}

describe('DEBUG=koa-sockjs:* and the life of a session', { timeout: 30_000 }, () => {
  const lines: string[] = [];
  const originalLog = createDebug.log;
  before(() => {
    createDebug.enable('koa-sockjs:*');
    createDebug.log = (...args: unknown[]) => void lines.push(format(...(args as [string, ...unknown[]])));
  });
  after(() => {
    createDebug.disable();
    createDebug.log = originalLog;
  });

  /** The lines of one session's life, without debug's namespace and time decorations. */
  const lifeOf = (id: string): string[] =>
    lines.filter((line) => line.includes(`session ${id}:`) && line.includes('koa-sockjs:session')).map((line) => line.replace(/^.*?koa-sockjs:session /, '').replace(/ \+\d+m?s$/, ''));

  it('an xhr-polling session of the default route, from creation to removal', async () => {
    const app = new Koa();
    const route = sockjs({ prefix: '/echo', session: Echo, disconnectDelay: 1500 });
    app.use(route);
    const server = await listen(app);
    after(async () => {
      await route.close();
      await server.close();
    });
    const url = `${server.url}/echo/000/${randomUUID()}`;
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    const [session] = route.manager.activeSessions();
    const id = session!.id;
    // A long poll: its receiver attaches, and detaches when the echo answers it.
    const poll = open(`${url}/xhr`);
    await until(() => lifeOf(id).length === 3, 'the long poll to attach');
    await post(`${url}/xhr_send`, JSON.stringify([SECRET, 'bye']));
    assert.equal(await readAll(await poll.response), `a[${JSON.stringify(SECRET)},"bye"]\n`);
    assert.equal((await post(`${url}/xhr`)).body, 'c[3001,"done here"]\n');
    await until(() => route.manager.size === 0, 'the session to be removed', 10_000);
    assert.deepEqual(lifeOf(id), [
      `route "" session ${id}: created (xhr-polling)`,
      `route "" session ${id}: opened`,
      `route "" session ${id}: receiver attached (xhr-polling)`,
      `route "" session ${id}: receiver detached (xhr-polling)`,
      `route "" session ${id}: closed (3001)`,
      `route "" session ${id}: removed`,
    ]);
    assert.ok(lines.every((line) => !line.includes(SECRET)), 'a message body was logged');
  });

  it('a websocket session of a named route, closed by the client', async () => {
    const app = new Koa();
    const route = sockjs({ name: 'chat', prefix: '/chat', session: Echo });
    app.use(route);
    const server = await listen(app);
    after(async () => {
      await route.close();
      await server.close();
    });
    const client = new FrameClient(`${server.url}/chat/0/0/websocket`);
    await client.waitFor(1);
    const id = route.manager.activeSessions()[0]!.id;
    client.send(SECRET);
    await client.waitFor(2);
    await client.close();
    await until(() => route.manager.size === 0, 'the session to be removed', 10_000);
    const life = lifeOf(id);
    assert.deepEqual(life.slice(0, 3), [`route "chat" session ${id}: created (websocket)`, `route "chat" session ${id}: receiver attached (websocket)`, `route "chat" session ${id}: opened`]);
    assert.match(life[3]!, /: (receiver detached \(websocket\)|closed \(\d+\))$/);
    assert.equal(life.at(-1), `route "chat" session ${id}: removed`);
    assert.ok(life.some((line) => /: closed \(\d+\)$/.test(line)));
    assert.ok(lines.every((line) => !line.includes(SECRET)), 'a message body was logged');
  });
});
