// sockjs-client (npm, the real client) in Node, over every transport it supports there.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import SockJS from 'sockjs-client';
import { startServer, type ConformanceServer } from './helpers.js';

/** A sockjs-client connection pinned to one transport, with awaitable messages. */
class Client {
  readonly sock: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #messages: string[] = [];
  #wake: (() => void) | undefined;

  constructor(url: string, transport: string) {
    this.sock = new SockJS(url, null, { transports: [transport] }) as unknown as WebSocket;
    this.opened = new Promise((resolve, reject) => {
      this.sock.onopen = () => resolve();
      this.sock.onclose = (event) => reject(new Error(`closed before open: ${event.code} ${event.reason}`));
    });
    this.closed = new Promise((resolve) => {
      this.sock.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason }));
    });
    this.sock.onmessage = (event: MessageEvent) => {
      this.#messages.push(event.data as string);
      this.#wake?.();
    };
  }

  get transport(): string {
    return (this.sock as unknown as { transport: string }).transport;
  }

  async recv(): Promise<string> {
    while (this.#messages.length === 0) {
      await new Promise<void>((resolve) => {
        this.#wake = () => {
          this.#wake = undefined;
          resolve();
        };
      });
    }
    return this.#messages.shift()!;
  }

  close(): Promise<{ code: number; reason: string }> {
    this.sock.close();
    return this.closed;
  }
}

const TRANSPORTS = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'] as const;

describe('sockjs-client in Node', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  for (const transport of TRANSPORTS) {
    describe(transport, () => {
      it('opens, echoes text of every kind, and closes cleanly', async () => {
        const client = new Client(server.url + '/echo', transport);
        await client.opened;
        assert.equal(client.transport, transport);
        const samples = ['hello', '', 'ünïcödé ☃ 🎉', '</script>"\\\n\u2028\uffff', 'x'.repeat(10_000)];
        for (const sample of samples) client.sock.send(sample);
        for (const sample of samples) assert.equal(await client.recv(), sample);
        const { code } = await client.close();
        assert.equal(code, 1000);
      });

      it('gets the server close code and reason', async () => {
        const client = new Client(server.url + '/close', transport);
        await client.opened;
        assert.deepEqual(await client.closed, { code: 3000, reason: 'Go away!' });
      });

      it('amplify: large replies arrive whole', async () => {
        const client = new Client(server.url + '/amplify', transport);
        await client.opened;
        client.sock.send('16');
        assert.equal(await client.recv(), 'x'.repeat(2 ** 16));
        client.sock.send('not a number');
        assert.equal(await client.recv(), 'xx');
        await client.close();
      });
    });
  }

  it('broadcast reaches clients on different transports', async () => {
    const clients = TRANSPORTS.map((transport) => new Client(server.url + '/broadcast', transport));
    await Promise.all(clients.map((client) => client.opened));
    clients[0]!.sock.send('to all');
    for (const client of clients) assert.equal(await client.recv(), 'to all');
    await Promise.all(clients.map((client) => client.close()));
  });

  it('a websocket: false route makes the client fall back to another transport', async () => {
    const sock = new SockJS(server.url + '/disabled_websocket_echo') as unknown as WebSocket & { transport: string };
    await new Promise<void>((resolve) => (sock.onopen = () => resolve()));
    assert.notEqual(sock.transport, 'websocket');
    const echoed = new Promise<string>((resolve) => (sock.onmessage = (event: MessageEvent) => resolve(event.data as string)));
    sock.send('via fallback');
    assert.equal(await echoed, 'via fallback');
    const closed = new Promise<void>((resolve) => (sock.onclose = () => resolve()));
    sock.close();
    await closed;
  });
});
