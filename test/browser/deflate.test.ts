// permessage-deflate with sockjs-client 1.6 in Chromium: the browser offers it, the server
// (perMessageDeflate on) accepts it, and a burst of compressible messages echoes intact. What
// was negotiated is read from Chromium's own view of the handshake (DevTools protocol).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import Koa from 'koa';
import { formatPageLog, launchChromium, recordPageLog, type Browser } from './chromium.js';
import { SOCKJS_CLIENT_FILE, listenOnFreePort, startPageServer, type ListeningServer } from './page-server.js';
import { sockjs, Session, type SockjsManagedOptions } from '../../src/index.js';

function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

interface EchoResult {
  transport: string | null;
  received: unknown[];
  close: { code: number; reason: string; wasClean: boolean } | null;
}

interface Runners {
  runEcho(options: { url: string; transport: string; deadlineMs: number; messages: readonly string[]; last: string }): Promise<EchoResult>;
}

const MESSAGES = Array.from({ length: 20 }, (_, i) => `{"seq":${i},"user":"alice","text":"${'the same words again and again '.repeat(60)}"}`);

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

async function startServer(options: SockjsManagedOptions<Session>): Promise<ListeningServer> {
  const app = new Koa();
  // The page is served from another origin; this test is about compression, not origins.
  app.use(sockjs({ prefix: '/echo', session: Echo, origins: ['*'], ...options }));
  return listenOnFreePort((port, host, onListening) => app.listen(port, host, onListening));
}

describe('permessage-deflate in Chromium', () => {
  let browser: Browser;
  let pageServer: ListeningServer;

  before(async () => {
    pageServer = await startPageServer({
      '/': { file: fixture('transports.html'), contentType: 'text/html; charset=utf-8' },
      '/transports.js': { file: fixture('transports.js'), contentType: 'application/javascript' },
      '/sockjs.min.js': { file: SOCKJS_CLIENT_FILE, contentType: 'application/javascript' },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await pageServer?.close();
  });

  /** Runs the echo scenario over the websocket transport; returns it and the handshake's extensions. */
  async function echoOver(server: ListeningServer): Promise<{ result: EchoResult; extensions: string[]; log: string[] }> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const log = recordPageLog(page);
      const cdp = await context.newCDPSession(page);
      const extensions: string[] = [];
      cdp.on('Network.webSocketHandshakeResponseReceived', (event) => {
        const headers = event.response.headers as Record<string, string>;
        const found = Object.entries(headers).find(([name]) => name.toLowerCase() === 'sec-websocket-extensions');
        extensions.push(found?.[1] ?? '');
      });
      await cdp.send('Network.enable');
      await page.goto(`${pageServer.origin}/`);
      const result = await page.evaluate(
        (args) => (globalThis as unknown as Runners).runEcho(args),
        { url: `${server.origin}/echo`, transport: 'websocket', deadlineMs: 20_000, messages: MESSAGES, last: 'last' },
      );
      return { result, extensions, log };
    } finally {
      await context.close();
    }
  }

  test('is negotiated with sockjs-client, and messages echo intact', { timeout: 60_000 }, async () => {
    const server = await startServer({ perMessageDeflate: true });
    try {
      const { result, extensions, log } = await echoOver(server);
      assert.equal(result.transport, 'websocket', formatPageLog(log));
      assert.deepEqual(result.received, [...MESSAGES, 'last'], formatPageLog(log));
      assert.deepEqual(result.close, { code: 1000, reason: 'Normal closure', wasClean: true });
      assert.equal(extensions.length, 1);
      assert.match(extensions[0]!, /^permessage-deflate/);
    } finally {
      await server.close();
    }
  });

  test('is not negotiated when off (the default), though Chromium offers it', { timeout: 60_000 }, async () => {
    const server = await startServer({});
    try {
      const { result, extensions, log } = await echoOver(server);
      assert.deepEqual(result.received, [...MESSAGES, 'last'], formatPageLog(log));
      assert.deepEqual(extensions, ['']);
    } finally {
      await server.close();
    }
  });
});
