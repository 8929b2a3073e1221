/**
 * docs/migrating-from-sockjs-node.md: the "After" version of sockjs-node's echo example runs as
 * written (the fixed port becomes PORT, as in readme.test.ts), next to an index.html, and
 * serves what the "Before" served: the page, and an echo on /echo over sockjs-client's
 * transports.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startChildServer } from '../helpers/child-server.js';
import { request } from '../helpers/http-client.js';
import { TestClient } from '../helpers/sockjs-client.js';

const GUIDE = fileURLToPath(new URL('../../docs/migrating-from-sockjs-node.md', import.meta.url));
const guide = readFileSync(GUIDE, 'utf8');
const AFTER = guide.match(/### After: koa-sockjs\n[\s\S]*?```ts\n([\s\S]*?)```/)?.[1];
// Inside the repository, so that 'koa-sockjs' resolves to the built package (dist/).
const DIR = fileURLToPath(new URL('./migrated-echo.tmp/', import.meta.url));
const PAGE = '<!doctype html><title>SockJS Echo example</title>';

/** The first line of the answer to a websocket upgrade request for `path`. */
function upgradeAnswer(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      answer += chunk;
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolve(answer.slice(0, answer.indexOf('\r\n')));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

describe('docs/migrating-from-sockjs-node.md: the migrated echo example', () => {
  let child: ChildProcess;
  let base: string;
  let port: number;

  before(async () => {
    if (!AFTER?.includes("app.listen(9999, '0.0.0.0')")) assert.fail('the guide has no After block with its listen line');
    mkdirSync(DIR, { recursive: true });
    const file = `${DIR}server.ts`;
    writeFileSync(file, AFTER.replace("app.listen(9999, '0.0.0.0')", "app.listen(Number(process.env.PORT), '127.0.0.1')"));
    writeFileSync(`${DIR}index.html`, PAGE);
    ({ child, port, base } = await startChildServer(file));
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    }
    rmSync(DIR, { recursive: true, force: true });
  });

  it('serves the page', async () => {
    const page = await request(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.body, PAGE);
  });

  for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) {
    it(`echoes over ${transport}`, async () => {
      const client = new TestClient(`${base}/echo`, transport);
      await client.opened;
      assert.equal(client.transport, transport);
      client.send('hello from sockjs-client');
      assert.deepEqual(await client.waitFor(1), ['hello from sockjs-client']);
      await client.close();
    });
  }

  it('answers an upgrade request for another path over HTTP, as the guide says', async () => {
    assert.equal(await upgradeAnswer(port, '/elsewhere'), 'HTTP/1.1 404 Not Found');
  });
});
