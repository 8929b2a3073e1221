// Pages with an opaque origin connect (issue 10): a sandboxed iframe (`sandbox="allow-scripts"`)
// and a page opened from file:// send `Origin: null`, and sockjs-client 1.x fetches `/info` with
// credentials, so they connect at all only if the server answers `Access-Control-Allow-Origin:
// null` with `Access-Control-Allow-Credentials: true` (Chromium refuses `*` with credentials).
// Debian's Chromium, the real sockjs-client 1.6, each transport forced.
//
// Which transports such a page has is sockjs-client's choice: it never uses xhr-streaming or
// xhr-polling from an opaque origin (`info.nullOrigin` disables them), and jsonp-polling sends
// through a form, which `sandbox="allow-scripts"` forbids. So the client runs websocket,
// eventsource and (from file://) jsonp-polling; the xhr endpoints are driven with credentialed
// fetch() from the same pages, as the xhr transports would call them.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { createReadStream } from 'node:fs';
import Koa from 'koa';
import { after, before, describe, test } from 'node:test';
import { Session, sockjs, type SockjsMiddleware } from '../../src/index.js';
import { formatPageLog, launchChromium, recordPageLog, type Browser, type Page } from './chromium.js';
import type { Frame } from 'playwright-core';
import { listenOnFreePort, SOCKJS_CLIENT_FILE, startPageServer, type ListeningServer } from './page-server.js';

/** The transports sockjs-client uses from an opaque origin, and what each one receives on. */
const WEBSOCKET = { name: 'websocket', receivePath: 'websocket' };
const EVENTSOURCE = { name: 'eventsource', receivePath: 'eventsource' };
const JSONP = { name: 'jsonp-polling', receivePath: 'jsonp' };

const MESSAGES = ['hello from nowhere', '{"json": [1, 2]}', 'ünïcødé ✓'];

interface EchoResult {
  /** The page's own origin as it sees it: 'null' when opaque. */
  pageOrigin: string;
  transport: string | null;
  received: string[];
  close: { code: number; reason: string } | null;
  error?: string;
}

/** The part of sockjs-client's SockJS the page uses (the tests compile without the DOM types). */
interface PageSockJS {
  readonly transport: string;
  onopen: () => void;
  onmessage: (event: { data: string }) => void;
  onclose: (event: { code: number; reason: string }) => void;
  send(data: string): void;
  close(): void;
}

interface PageGlobals {
  origin: string;
  SockJS: new (url: string, reserved: null, options: { transports: string[] }) => PageSockJS;
  fetch(url: string, init: { method: string; credentials: 'include'; body?: string }): Promise<{ status: number; text(): Promise<string> }>;
}

/** Runs in the page: opens a SockJS connection with one transport, echoes `messages`, closes. */
function echoInPage([url, transport, messages]: readonly [string, string, readonly string[]]): Promise<EchoResult> {
  const page = globalThis as unknown as PageGlobals;
  return new Promise((resolve) => {
    const result: EchoResult = { pageOrigin: page.origin, transport: null, received: [], close: null };
    const deadline = setTimeout(() => resolve({ ...result, error: 'timed out' }), 15_000);
    const sock = new page.SockJS(url, null, { transports: [transport] });
    sock.onopen = () => {
      result.transport = sock.transport;
      for (const message of messages) sock.send(message);
    };
    sock.onmessage = (event) => {
      result.received.push(event.data);
      if (result.received.length === messages.length) sock.close();
    };
    sock.onclose = (event) => {
      clearTimeout(deadline);
      result.close = { code: event.code, reason: event.reason };
      resolve(result);
    };
  });
}

/**
 * Runs in the page: what xhr-polling does, with credentialed fetch(): `/info`, open, send, poll.
 * Resolves with each answer, or the error the browser gave (a CORS refusal is a TypeError).
 */
async function xhrPollingInPage(sessionUrl: string): Promise<string[]> {
  // No inner named functions: tsx would wrap them in a helper the page does not have.
  const page = globalThis as unknown as PageGlobals;
  const steps: [string, string, string | undefined][] = [
    ['GET', sessionUrl.replace(/\/[^/]+\/[^/]+$/, '/info'), undefined],
    ['POST', `${sessionUrl}/xhr`, undefined],
    ['POST', `${sessionUrl}/xhr_send`, '["via fetch"]'],
    ['POST', `${sessionUrl}/xhr`, undefined],
  ];
  const answers: string[] = [];
  for (const [method, url, body] of steps) {
    try {
      const r = await page.fetch(url, { method, credentials: 'include', ...(body === undefined ? {} : { body }) });
      answers.push(`${r.status} ${(await r.text()).replace(/"entropy":\d+/, '"entropy":N')}`);
    } catch (error) {
      answers.push(`refused: ${String(error)}`);
    }
  }
  return answers;
}

class Echo extends Session {
  override onMessage(message: unknown): void {
    this.send(message);
  }
}

/** The SockJS app on its own origin, recording the Origin header of every request per path segment. */
async function startServer(): Promise<ListeningServer & { origins: Map<string, Set<string>>; route: SockjsMiddleware }> {
  const origins = new Map<string, Set<string>>();
  const app = new Koa();
  app.use(async function recordOrigin(ctx, next) {
    const segment = ctx.path.slice(ctx.path.lastIndexOf('/') + 1);
    const seen = origins.get(segment) ?? new Set<string>();
    seen.add(ctx.get('Origin') || '(none)');
    origins.set(segment, seen);
    await next();
  });
  app.use(async function serveSockjsClient(ctx, next) {
    if (ctx.path !== '/sockjs.min.js') return next();
    ctx.type = 'application/javascript';
    ctx.body = createReadStream(SOCKJS_CLIENT_FILE);
  });
  // Pages with an opaque origin are refused unless `origins` lists 'null' (and '*' keeps /info's
  // `origins` the `*:*` these tests expect): what an application serving such pages writes.
  const route = sockjs({ prefix: '/echo', session: Echo, sockjsUrl: '/sockjs.min.js', disconnectDelay: 1000, origins: ['*', 'null'] });
  app.use(route);
  const listening = await listenOnFreePort((port, host, onListening) => app.listen(port, host, onListening));
  return { ...listening, origins, route };
}

function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

describe('Chromium pages with Origin: null', () => {
  let browser: Browser;
  let pageServer: ListeningServer;
  let server: Awaited<ReturnType<typeof startServer>>;

  before(async () => {
    pageServer = await startPageServer({
      '/sandbox.html': { file: fixture('sandbox.html'), contentType: 'text/html; charset=utf-8' },
      '/null-origin.html': { file: fixture('null-origin.html'), contentType: 'text/html; charset=utf-8' },
    });
    server = await startServer();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.route.close();
    await server?.close();
    await pageServer?.close();
  });

  const pages = {
    /** A sandboxed iframe on the page server: scripts allowed, origin opaque. */
    'a sandboxed iframe': async (page: Page) => {
      await page.goto(`${pageServer.origin}/sandbox.html`);
      const frame = page.frame({ name: 'sandboxed' });
      assert.ok(frame, 'the sandboxed frame');
      await frame.waitForLoadState();
      return frame;
    },
    /** The same page opened from disk. */
    'a file:// page': async (page: Page) => {
      await page.goto(pathToFileURL(fixture('null-origin.html')).href);
      return page.mainFrame();
    },
  };

  const transportsOf: Record<keyof typeof pages, { name: string; receivePath: string }[]> = {
    'a sandboxed iframe': [WEBSOCKET, EVENTSOURCE],
    'a file:// page': [WEBSOCKET, EVENTSOURCE, JSONP],
  };

  for (const [where, open] of Object.entries(pages) as [keyof typeof pages, (page: Page) => Promise<Frame>][]) {
    describe(where, () => {
      test('xhr endpoints with credentials: /info, open, send, poll', { timeout: 60_000 }, async () => {
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          const frame = await open(page);
          server.origins.clear();
          const answers = await frame.evaluate(xhrPollingInPage, `${server.origin}/echo/000/${randomUUID()}`);
          assert.deepEqual(answers, [
            '200 {"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":N}',
            '200 o\n',
            '204 ',
            '200 a["via fetch"]\n',
          ]);
          for (const path of ['info', 'xhr', 'xhr_send']) assert.deepEqual([...(server.origins.get(path) ?? [])], ['null'], path);
        } finally {
          await context.close();
        }
      });

      for (const transport of transportsOf[where]) {
        test(`${transport.name}: connects, echoes, closes`, { timeout: 60_000 }, async () => {
          const context = await browser.newContext();
          try {
            const page = await context.newPage();
            const log = recordPageLog(page);
            const frame = await open(page);
            await frame.addScriptTag({ url: `${server.origin}/sockjs.min.js` });
            server.origins.clear();
            const result = await frame.evaluate(echoInPage, [`${server.origin}/echo`, transport.name, MESSAGES] as const);
            const details = `${JSON.stringify(result)}${formatPageLog(log)}`;
            assert.equal(result.pageOrigin, 'null', details);
            assert.equal(result.transport, transport.name, details);
            assert.deepEqual(result.received, MESSAGES, details);
            assert.deepEqual(result.close, { code: 1000, reason: 'Normal closure' }, details);
            // The server really was asked from an opaque origin, at /info and on the transport.
            assert.deepEqual([...(server.origins.get('info') ?? [])], ['null'], details);
            // A <script> for jsonp sends no Origin; every other request says null.
            const expected = transport === JSONP ? ['(none)'] : ['null'];
            assert.deepEqual([...(server.origins.get(transport.receivePath) ?? [])], expected, details);
          } finally {
            await context.close();
          }
        });
      }
    });
  }
});
