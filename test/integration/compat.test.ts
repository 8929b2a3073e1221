/** Consumers: Koa 2 as well as Koa 3, and the built package through `import` and `require`. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Koa2 from 'koa2';
import { Session, sockjs } from '../../src/index.js';
import { post } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { FrameClient } from '../helpers/ws-client.js';

const run = promisify(execFile);

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

describe('Koa 2', () => {
  let server: Listening | undefined;
  after(() => server?.close());

  it('serves websocket and xhr-polling sessions', async () => {
    const app = new Koa2();
    app.use(sockjs({ prefix: '/echo', session: Echo }) as unknown as Koa2.Middleware);
    server = await listen(app.callback());
    const client = new FrameClient(`${server.url}/echo/0/0/websocket`);
    await client.waitFor(1);
    client.send('koa 2');
    assert.deepEqual(await client.waitFor(2), ['o', 'a["koa 2"]']);
    await client.close();
    const url = `${server.url}/echo/000/${randomUUID()}`;
    assert.equal((await post(`${url}/xhr`)).body, 'o\n');
    assert.equal((await post(`${url}/xhr_send`, '["x"]')).status, 204);
    assert.equal((await post(`${url}/xhr`)).body, 'a["x"]\n');
  });
});

describe('the built package', () => {
  // `npm test` builds dist/ before running the tests.
  const script = `
    const app = new mod.Koa();
    const route = lib.sockjs({ prefix: '/p' });
    app.use(route);
    const server = app.listen(0, '127.0.0.1', async () => {
      const res = await fetch('http://127.0.0.1:' + server.address().port + '/p');
      console.log(await res.text(), typeof lib.Session, typeof lib.MemoryStore, lib.SessionState.OPEN);
      await route.close();
      server.close();
    });`;

  it('works through require()', async () => {
    const { stdout } = await run(process.execPath, ['-e', `const lib = require('koa-sockjs'); const mod = { Koa: require('koa') }; ${script}`]);
    assert.equal(stdout, 'Welcome to SockJS!\n function function 1\n');
  });

  it('works through import', async () => {
    const { stdout } = await run(process.execPath, [
      '--input-type=module',
      '-e',
      `import * as lib from 'koa-sockjs'; import KoaClass from 'koa'; const mod = { Koa: KoaClass }; ${script}`,
    ]);
    assert.equal(stdout, 'Welcome to SockJS!\n function function 1\n');
  });

  it('ships the store contract suite and the types', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `import { describeStoreContract } from 'koa-sockjs/store-contract'; console.log(typeof describeStoreContract)`]);
    assert.equal(stdout, 'function\n');
  });
});
