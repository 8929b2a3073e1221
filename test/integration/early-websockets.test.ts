/**
 * Issue 9, fault 2: websockets accepted on the request path (before the route listens for
 * 'upgrade': the first request of a fresh server, or a reconnect storm held by a slow middleware)
 * must live as long as their clients. Node's request-timeout check wrote `HTTP/1.1 408` into them
 * once they had sent a frame, and server.close() destroyed them as idle HTTP connections.
 *
 * The server's timeouts are shrunk so its bookkeeping runs within a second; a raw connection that
 * sends half a request head after the websockets sent their frames is timed out by the same
 * check, so its 408 says the check has run for every websocket too, with no sleeping.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import Koa from 'koa';
import { WebSocket } from 'ws';
import { Session, sockjs } from '../../src/index.js';
import { Hixie76Client } from '../helpers/hixie76-client.js';
import { FrameClient } from '../helpers/ws-client.js';

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

/** One websocket, whatever its flavour: send a text, receive its echo, close cleanly. */
interface EchoClient {
  echo(text: string): Promise<string>;
  close(): Promise<void>;
  /** Drops the connection (cleanup after a failure). */
  destroy(): void;
}

type Opener = (base: string, index: number) => Promise<EchoClient>;

const openers: Record<string, Opener> = {
  async websocket(base, index) {
    const client = new FrameClient(`${base}/echo/0/${index}/websocket`);
    await client.waitFor(1);
    return {
      async echo(text) {
        const seen = client.frames.length;
        client.send(text);
        const frames = await Promise.race([client.waitFor(seen + 1), client.closed.then(() => assert.fail('the websocket closed'))]);
        return (JSON.parse(frames[seen]!.slice(1)) as string[])[0]!;
      },
      async close() {
        client.ws.close(1000);
        assert.equal((await client.closed).code, 1000);
      },
      destroy: () => client.ws.terminate(),
    };
  },
  async 'raw websocket'(base) {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/echo/websocket`);
    ws.on('error', () => {});
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('close', reject);
    });
    return {
      echo: (text) =>
        new Promise((resolve, reject) => {
          ws.once('message', (data) => resolve(String(data)));
          ws.once('close', () => reject(new Error('closed')));
          ws.send(text);
        }),
      async close() {
        ws.close(1000);
        assert.equal(await closed, 1000);
      },
      destroy: () => ws.terminate(),
    };
  },
  async 'hixie-76'(base, index) {
    const client = await Hixie76Client.open(`${base}/echo/0/${index}/websocket`);
    assert.equal(await client.recv(), 'o');
    return {
      async echo(text) {
        client.send(JSON.stringify([text]));
        const frame = await client.recv();
        assert.ok(frame !== undefined, 'the connection closed');
        return (JSON.parse(frame.slice(1)) as string[])[0]!;
      },
      async close() {
        client.close();
      },
      destroy: () => client.connection.socket.destroy(),
    };
  },
};

/** Half a request head: the server times it out with 408 once `headersTimeout` passed. */
function stalledRequest(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n'));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** Holds every request until `count` of them have arrived: a reconnect storm behind a slow middleware. */
function gate(count: number): Koa.Middleware {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return async function slowMiddleware(_ctx, next) {
    if (++arrived === count) open();
    await opened;
    await next();
  };
}

async function startServer(held: number): Promise<{ server: http.Server; base: string; upgradeListeners: number[] }> {
  const app = new Koa();
  const upgradeListeners: number[] = [];
  let server: http.Server | undefined;
  app.use(async (_ctx, next) => {
    // How each request came in: 0 'upgrade' listeners means the request path.
    upgradeListeners.push(server!.listenerCount('upgrade'));
    await next();
  });
  if (held > 1) app.use(gate(held));
  app.use(sockjs({ prefix: '/echo', session: Echo }));
  server = http.createServer({ headersTimeout: 200, requestTimeout: 400, connectionsCheckingInterval: 50 }, app.callback());
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, upgradeListeners };
}

describe('websockets accepted before the route listens for upgrades', () => {
  for (const [flavour, open] of Object.entries(openers)) {
    for (const held of [1, 3]) {
      const how = held === 1 ? 'as the first request of a fresh server' : `${held} at once behind a slow middleware`;
      it(`${flavour}, ${how}: outlives the request timeout and server.close()`, { timeout: 10_000 }, async () => {
        const { server, base, upgradeListeners } = await startServer(held);
        const port = (server.address() as AddressInfo).port;
        const clients: EchoClient[] = [];
        try {
          clients.push(...await Promise.all(Array.from({ length: held }, (_, index) => open(base, index))));
          assert.deepEqual(upgradeListeners, Array(held).fill(0), 'every websocket came through the request path');
          // A frame from the client is what Node's parser took for the start of a new request.
          for (const [index, client] of clients.entries()) assert.equal(await client.echo(`before ${index}`), `before ${index}`);

          assert.match(await stalledRequest(port), /^HTTP\/1\.1 408 /);
          for (const [index, client] of clients.entries()) assert.equal(await client.echo(`after ${index}`), `after ${index}`);

          // server.close() closes idle HTTP connections; a websocket is not one of them.
          const closed = new Promise((resolve) => server.close(resolve));
          for (const [index, client] of clients.entries()) assert.equal(await client.echo(`closing ${index}`), `closing ${index}`);
          await Promise.all(clients.map((client) => client.close()));
          await closed;
        } finally {
          for (const client of clients) client.destroy();
          server.closeAllConnections();
          server.close();
        }
      });
    }
  }
});
