/**
 * Clients that go away are everyday life (issues 9 and 11): a default Koa app (no 'error'
 * listener, so Koa's own handler prints) serving SockJS must print no stack trace when clients
 * hang up or reset mid-body, send a malformed chunked body, never finish a body, reset a
 * stream mid-write, or abort a poll. The app runs in a child process whose stderr is captured;
 * a plain Koa route hit the same way is the control that shows such errors do print.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { post, request } from '../helpers/http-client.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/default-app.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
/** A stack trace line as Koa's default handler prints it (indented "at ..."). */
const STACK_LINE = /^\s+at /m;

let child: ChildProcess;
let port: number;
let stderr = '';


/** Sends raw bytes, then does `finish` to the socket; resolves once the socket is closed. */
function drill(head: string, finish: (socket: net.Socket) => void, waitFor?: (data: string) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    socket.write(head);
    if (!waitFor) {
      // Read whatever comes, so the socket sees the server's end and closes.
      socket.resume();
      // Let the server start reading the body before the client goes.
      setTimeout(() => finish(socket), 50);
      return;
    }
    socket.on('data', (data: Buffer) => {
      received += data.toString('latin1');
      if (waitFor(received)) {
        socket.removeAllListeners('data');
        finish(socket);
      }
    });
  });
}

const postHead = (path: string, headers: string): string => `POST ${path} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;
const hangUp = (socket: net.Socket): void => void socket.end();
const reset = (socket: net.Socket): void => void socket.resetAndDestroy();

/** A round trip through the app: whatever the drills caused has been handled by then. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) assert.equal((await request(`http://127.0.0.1:${port}/echo/info`)).status, 200);
}

describe('a default Koa app prints no stack trace for clients that go away', { timeout: 60_000 }, () => {
  before(async () => {
    child = spawn(process.execPath, [TSX, FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /READY (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`fixture exited with ${code}: ${stderr}`)));
    });
  });

  after(() => {
    child.kill();
  });

  it('control: the same hang-up on a plain Koa route does print (the capture works)', async () => {
    await drill(postHead('/plain', 'Content-Length: 100\r\n') + 'partial', hangUp);
    await settle();
    assert.match(stderr, STACK_LINE);
    stderr = '';
  });

  it('hang-ups, resets, malformed chunked and unfinished bodies, reset streams and aborted polls: quiet', async () => {
    const session = (): string => `/echo/000/${randomUUID()}`;
    const opened = async (): Promise<string> => {
      const url = session();
      assert.equal((await post(`http://127.0.0.1:${port}${url}/xhr`)).body, 'o\n');
      return url;
    };
    for (const send of ['xhr_send', 'jsonp_send']) {
      const url = await opened();
      // A hang-up mid-body (llhttp: HPE_INVALID_EOF_STATE), then a reset mid-body.
      await drill(postHead(`${url}/${send}`, 'Content-Type: text/plain\r\nContent-Length: 100\r\n') + '["par', hangUp);
      await drill(postHead(`${url}/${send}`, 'Content-Length: 100\r\n') + '["par', reset);
      // A malformed chunked body (HPE_INVALID_CHUNK_SIZE): Node answers 400 and closes.
      await drill(postHead(`${url}/${send}`, 'Transfer-Encoding: chunked\r\n') + 'zz\r\n["x"]\r\n', () => undefined, () => false);
      // A body that never finishes: Node's request timeout (1 s in the fixture) ends it.
      await drill(postHead(`${url}/${send}`, 'Content-Length: 100\r\n') + '["par', () => undefined, () => false);
    }
    // A stream reset while the server writes to it.
    await drill(postHead(`/chatty/000/${randomUUID()}/xhr_streaming`, 'Content-Length: 0\r\n'), reset, (data) => data.length > 20_000);
    // Polls aborted while waiting: hung up, then reset.
    for (const finish of [hangUp, reset]) {
      const url = await opened();
      await drill(postHead(`${url}/xhr`, 'Content-Length: 0\r\n'), finish);
    }
    // An eventsource stream and a jsonp poll reset.
    await drill(`GET ${session()}/eventsource HTTP/1.1\r\nHost: x\r\n\r\n`, reset, (data) => data.includes('data: o'));
    const url = await opened();
    await drill(`GET ${url}/jsonp?c=cb HTTP/1.1\r\nHost: x\r\n\r\n`, reset);
    await settle();
    assert.doesNotMatch(stderr, STACK_LINE, `stderr:\n${stderr}`);
    assert.equal(stderr.trim(), '');
  });
});
