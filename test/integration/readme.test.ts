/**
 * The README's TypeScript examples run as written: each block is saved as a module next to
 * this test (importing 'koa-sockjs' resolves to the built package), started in a child
 * process, and exercised. The one change: the fixed port 8080 becomes PORT from the
 * environment, given as 0; the test learns the port the example got (test/helpers/child-server.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { startChildServer } from '../helpers/child-server.js';
import { request, until } from '../helpers/http-client.js';
import { TestClient } from '../helpers/sockjs-client.js';
import { FrameClient } from '../helpers/ws-client.js';
import { WebSocket } from 'ws';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const blocks = [...readFileSync(README, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
const runnable = blocks.filter((block) => block.includes('listen(8080)'));

const children: ChildProcess[] = [];
const files: string[] = [];
after(() => {
  for (const child of children) child.kill();
  for (const file of files) rmSync(file, { force: true });
});

async function startBlock(index: number): Promise<string> {
  return (await startBlockProcess(index)).base;
}

async function startBlockProcess(index: number): Promise<{ base: string; child: ChildProcess }> {
  const file = fileURLToPath(new URL(`./readme-example-${index}.tmp.ts`, import.meta.url));
  writeFileSync(file, runnable[index]!.replace('listen(8080)', 'listen(Number(process.env.PORT))'));
  files.push(file);
  const { child, base } = await startChildServer(file);
  children.push(child);
  return { base, child };
}

describe('README examples', () => {
  it('has the runnable examples this test expects', () => {
    assert.equal(runnable.length, 7);
  });

  it('quick start: chat over sockjs-client and the /broadcast route', async () => {
    const base = await startBlock(0);
    const client = new TestClient(`${base}/chat`, 'websocket');
    await client.opened;
    assert.deepEqual(await client.waitFor(2), ['Hello', 'Someone joined.']);
    client.send('hi');
    assert.equal((await client.waitFor(3))[2], 'hi');
    assert.equal((await request(`${base}/broadcast?message=pushed`)).body, 'Message has been sent');
    assert.equal((await client.waitFor(4))[3], 'pushed');
    assert.equal((await request(`${base}/broadcast`)).status, 400, 'a /broadcast without a message is refused');
    await client.close();
  });

  it('upgradeHandler: SockJS next to another websocket server', async () => {
    const base = await startBlock(1);
    const sockjsClient = new FrameClient(`${base}/chat/0/0/websocket`);
    assert.deepEqual(await sockjsClient.waitFor(1), ['o']);
    await sockjsClient.close();
    const other = new WebSocket(`${base.replace('http', 'ws')}/other`);
    const greeting = await new Promise<string>((resolve) => other.once('message', (data) => resolve(String(data))));
    assert.equal(greeting, 'hello from the other server');
    other.close();
  });

  it('shutting down: SIGTERM closes every session with a close frame and the process exits', async () => {
    const { base, child } = await startBlockProcess(runnable.findIndex((block) => block.includes("process.on('SIGTERM'")));
    const client = new FrameClient(`${base}/chat/0/0/websocket`);
    assert.deepEqual(await client.waitFor(1), ['o']);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    await client.closed;
    assert.deepEqual(client.frames, ['o', 'c[1001,"Server is shutting down"]']);
    assert.equal(await exited, 0);
  });

  it('metrics: the Prometheus exporter on /metrics counts the route\'s sessions and messages', async () => {
    const base = await startBlock(runnable.findIndex((block) => block.includes('new PrometheusExporter(')));
    const client = new FrameClient(`${base}/chat/0/0/websocket`);
    assert.deepEqual(await client.waitFor(1), ['o']);
    client.send('hello');
    const metrics = await request(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    const series = (name: string): string | undefined => metrics.body.split('\n').find((line) => line.startsWith(`${name}{`));
    assert.match(series('sockjs_server_active_sessions') ?? '', /sockjs_route="chat",sockjs_transport="websocket".* 1$/);
    assert.match(series('sockjs_server_sessions_created_total') ?? '', /sockjs_route="chat",sockjs_transport="websocket".* 1$/);
    assert.match(metrics.body, /sockjs_server_messages_total\{sockjs_route="chat",sockjs_transport="websocket",network_io_direction="receive".*\} 1\n/);
    await client.close();
  });

  it('backpressure: the feed streams in order to a client that stalls, and goes on when it reads', { timeout: 60_000 }, async () => {
    const base = await startBlock(runnable.findIndex((block) => block.includes('class Feed extends Session')));
    let socket: net.Socket | undefined;
    const ws = new WebSocket(`${base.replace('http', 'ws')}/feed/0/0/websocket`, {
      createConnection: (options: http.ClientRequestArgs) => (socket = net.connect(options as net.NetConnectOpts)),
    });
    let next = 0;
    let wrong: string | undefined;
    ws.on('message', (data) => {
      const frame = String(data);
      if (frame === 'o' || frame === 'h') return;
      if (!frame.startsWith('a[')) {
        wrong ??= `frame ${frame.slice(0, 60)}`;
        return;
      }
      for (const { seq } of JSON.parse(frame.slice(1)) as Array<{ seq: number }>) {
        if (seq !== next) wrong ??= `got ${seq}, expected ${next}`;
        next = seq + 1;
      }
    });
    await until(() => next > 1000, 'a thousand messages', 30_000);
    // The client stops reading for a while: far longer than an unpaced producer would need to
    // pass maxBufferedBytes (16 MiB) and be closed with 1013.
    socket!.pause();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const resumedAt = next;
    socket!.resume();
    await until(() => next > resumedAt + 20_000, 'messages to flow again', 30_000);
    assert.equal(wrong, undefined);
    assert.equal(ws.readyState, WebSocket.OPEN, 'never closed as too slow');
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
  });

  it("the iframe and sockjs-client: the page loads the app's installed sockjs-client, under its version", async () => {
    const base = await startBlock(runnable.findIndex((block) => block.includes('sockjsUrl: clientUrl')));
    const installed = fileURLToPath(new URL('../../node_modules/sockjs-client/', import.meta.url));
    const { version } = JSON.parse(readFileSync(installed + 'package.json', 'utf8')) as { version: string };
    const page = await request(`${base}/chat/iframe.html`);
    assert.ok(page.body.includes(`<script src="/sockjs-client-${version}.min.js"></script>`), page.body);
    const script = await request(`${base}/sockjs-client-${version}.min.js`);
    assert.equal(script.status, 200);
    assert.equal(script.headers['content-type'], 'application/javascript; charset=UTF-8');
    assert.equal(script.body, readFileSync(installed + 'dist/sockjs.min.js', 'utf8'));
  });

  it('rooms: a user\'s tabs and the lobby, /notify to one user, /online counting the lobby', async () => {
    const base = await startBlock(runnable.findIndex((block) => block.includes('class Member extends Session')));
    const connect = async (user: string): Promise<TestClient> => {
      const client = new TestClient(`${base}/chat?user=${user}`, 'websocket');
      await client.opened;
      return client;
    };
    const [aliceTab1, aliceTab2, bob] = [await connect('alice'), await connect('alice'), await connect('bob')];
    const online = async (): Promise<unknown> => JSON.parse((await request(`${base}/online`)).body);
    // onOpen joins asynchronously: wait until all three are in the lobby.
    for (let attempt = 0; JSON.stringify(await online()) !== '{"lobby":3}'; attempt++) {
      assert.ok(attempt < 100, 'all three sessions join the lobby');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    aliceTab1.send('hi');
    assert.deepEqual(await bob.waitFor(1), ['alice: hi']);
    assert.deepEqual(await aliceTab2.waitFor(1), ['alice: hi'], 'her other tab, once though it shares two rooms');
    assert.equal((await request(`${base}/notify?user=alice&message=ping`)).body, 'sent');
    assert.deepEqual(await aliceTab1.waitFor(1), ['ping']);
    assert.deepEqual(await aliceTab2.waitFor(2), ['alice: hi', 'ping']);
    bob.send('bye');
    assert.deepEqual(await aliceTab1.waitFor(2), ['ping', 'bob: bye']);
    assert.deepEqual(await aliceTab2.waitFor(3), ['alice: hi', 'ping', 'bob: bye']);
    assert.deepEqual(bob.received, ['alice: hi'], 'bob got neither ping nor his own line');
    for (const client of [aliceTab1, aliceTab2, bob]) await client.close();
  });
});
