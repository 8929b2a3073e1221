// Every SockJS browser transport, forced one at a time, in Debian's Chromium with the real
// sockjs-client 1.6: open, an echoed burst of awkward strings, a client close and a server close.
// The page and the SockJS server are different origins (two ports on 127.0.0.1); the server
// allows the page's origin. A page on a third origin, not allowed, gets nothing on any transport.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { formatPageLog, launchChromium, recordPageLog, type Browser } from './chromium.js';
import { BURST, describeMismatch, LAST_MESSAGE } from './messages.js';
import { SOCKJS_CLIENT_FILE, startPageServer, type ListeningServer } from './page-server.js';
import { startSockjsServer, type SockjsTestServer } from './sockjs-server.js';
import { DEFAULTS } from '../../src/index.js';

interface TransportCase {
  /** sockjs-client's name for it, as passed in `transports`. */
  name: string;
  /** Last path segment of the requests that carry server-to-client data. */
  receivePath: string;
  /** Streams many frames per response, so `responseLimit` applies. */
  streaming: boolean;
}

const TRANSPORTS: readonly TransportCase[] = [
  { name: 'websocket', receivePath: 'websocket', streaming: false },
  { name: 'xhr-streaming', receivePath: 'xhr_streaming', streaming: true },
  { name: 'xhr-polling', receivePath: 'xhr', streaming: false },
  { name: 'eventsource', receivePath: 'eventsource', streaming: true },
  { name: 'iframe-eventsource', receivePath: 'eventsource', streaming: true },
  { name: 'iframe-htmlfile', receivePath: 'htmlfile', streaming: true },
  { name: 'iframe-xhr-polling', receivePath: 'xhr', streaming: false },
  { name: 'jsonp-polling', receivePath: 'jsonp', streaming: false },
];

/** How long the page waits for a scenario before it reports what it got so far. */
const SCENARIO_DEADLINE_MS = 20_000;

interface ScenarioResult {
  transport: string | null;
  opened: boolean;
  received: unknown[];
  close: { code: number; reason: string; wasClean: boolean } | null;
  closeBeforeOpen: boolean;
  timedOut: boolean;
  readyState?: number;
  error?: string;
}

interface ScenarioOptions {
  url: string;
  transport: string;
  deadlineMs: number;
  messages?: readonly string[];
  last?: string;
  message?: string;
}

/** What test/browser/fixtures/transports.js defines on the page's `window`. */
interface ScenarioRunners {
  runEcho(options: ScenarioOptions): Promise<ScenarioResult>;
  runServerClose(options: ScenarioOptions): Promise<ScenarioResult>;
}

function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** Rejects with `what` if `promise` has not settled within `ms`: a guard, never a wait. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Everything about a result except the (possibly megabytes of) received messages. */
function summary(result: ScenarioResult): string {
  const { received, ...rest } = result;
  return JSON.stringify({ ...rest, receivedCount: received.length });
}

describe('browser transports in Chromium', () => {
  let browser: Browser;
  let pageServer: ListeningServer;
  /** The same page on an origin the SockJS server does not allow. */
  let otherPageServer: ListeningServer;

  before(async () => {
    assert.ok(
      Buffer.byteLength(BURST.join('')) > 2 * DEFAULTS.responseLimit,
      'the burst must carry more than twice responseLimit for the streaming transports to reconnect',
    );
    const pageFiles = {
      '/': { file: fixture('transports.html'), contentType: 'text/html; charset=utf-8' },
      '/transports.js': { file: fixture('transports.js'), contentType: 'application/javascript' },
      '/sockjs.min.js': { file: SOCKJS_CLIENT_FILE, contentType: 'application/javascript' },
    };
    pageServer = await startPageServer(pageFiles);
    otherPageServer = await startPageServer(pageFiles);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await pageServer?.close();
    await otherPageServer?.close();
  });

  for (const transport of TRANSPORTS) {
    describe(transport.name, () => {
      let server: SockjsTestServer;

      before(async () => {
        server = await startSockjsServer({ origins: [pageServer.origin] });
      });

      after(async () => {
        await server?.close();
      });

      /** Opens the test page in a fresh browser context and runs `scenario` in it. */
      async function inPage(
        scenario: 'runEcho' | 'runServerClose',
        options: Omit<ScenarioOptions, 'transport' | 'deadlineMs'>,
        pageOrigin = pageServer.origin,
        deadlineMs = SCENARIO_DEADLINE_MS,
      ): Promise<{ result: ScenarioResult; log: string[] }> {
        const context = await browser.newContext();
        // Everything, the iframe page's copy of sockjs-client included, must come from the two
        // local origins: no CDN.
        const elsewhere: string[] = [];
        context.on('request', (request) => {
          const url = request.url();
          if (/^(https?|wss?):/.test(url) && !url.startsWith(pageOrigin) && !url.startsWith(server.origin)) {
            elsewhere.push(url);
          }
        });
        try {
          const page = await context.newPage();
          const log = recordPageLog(page);
          await page.goto(`${pageOrigin}/`);
          const result = await page.evaluate(
            ([name, args]) => (globalThis as unknown as ScenarioRunners)[name](args),
            [scenario, { ...options, transport: transport.name, deadlineMs }] as const,
          );
          assert.deepEqual(elsewhere, [], 'requests left the two local origins');
          return { result, log };
        } finally {
          await context.close();
        }
      }

      test('echoes a burst in order, then closes cleanly from the client', { timeout: 60_000 }, async () => {
        const receivesBefore = server.requests.get(transport.receivePath) ?? 0;
        const serverSawClose = once(server.events, 'closed');
        const { result, log } = await inPage('runEcho', {
          url: `${server.origin}/echo`,
          messages: BURST,
          last: LAST_MESSAGE,
        });
        const context = `${summary(result)}${formatPageLog(log)}`;

        assert.equal(result.transport, transport.name, `transport used is not the one forced: ${context}`);
        assert.equal(describeMismatch([...BURST, LAST_MESSAGE], result.received), undefined, context);
        assert.deepEqual(result.close, { code: 1000, reason: 'Normal closure', wasClean: true }, context);

        if (transport.name !== 'websocket') {
          const receives = (server.requests.get(transport.receivePath) ?? 0) - receivesBefore;
          // A streaming response ends once it has carried responseLimit bytes, and the client
          // reconnects: the burst's echoes carry more than that, and the last message is echoed
          // after them, so a streaming transport needs at least a second response.
          const expected = transport.streaming ? 2 : 1;
          assert.ok(receives >= expected, `${receives} ${transport.receivePath} requests, expected >= ${expected}`);
        }
        await within(serverSawClose, 10_000, 'the server never saw the session close');
      });

      test('a page on a disallowed origin gets nothing, and opens no session', { timeout: 60_000 }, async () => {
        const openedBefore = server.opened;
        const { result, log } = await inPage('runEcho', { url: `${server.origin}/echo`, messages: ['secret?'], last: LAST_MESSAGE }, otherPageServer.origin, 10_000);
        const context = `${summary(result)}${formatPageLog(log)}`;
        assert.equal(result.opened, false, `the session opened: ${context}`);
        assert.deepEqual(result.received, [], context);
        assert.equal(server.opened, openedBefore, `the server opened a session: ${context}`);
      });

      test('sees a server close as 3000 "Go away!"', { timeout: 60_000 }, async () => {
        const { result, log } = await inPage('runServerClose', { url: `${server.origin}/close`, message: 'close me' });
        const context = `${summary(result)}${formatPageLog(log)}`;

        assert.equal(result.transport, transport.name, `transport used is not the one forced: ${context}`);
        assert.deepEqual(result.close, { code: 3000, reason: 'Go away!', wasClean: true }, context);
      });
    });
  }
});
