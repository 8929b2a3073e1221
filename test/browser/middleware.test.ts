// sockjs-client 1.6 in Chromium over the HTTP transports, from a page on another origin, with a
// real app's middleware mounted before sockjs() (issue 11): koa-logger, a response-time
// middleware, koa-session, @koa/cors, koa-compress and koa-body; then the same with koa-helmet
// too: the iframe page and the htmlfile document carry their own Content-Security-Policy, and a
// jsonp script its own Cross-Origin-Resource-Policy, so helmet's defaults in front block none of
// them (iframe-htmlfile heard nothing while htmlfile kept helmet's `script-src 'self'`).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { formatPageLog, launchChromium, recordPageLog, type Browser } from './chromium.js';
import { describeMismatch, LAST_MESSAGE, SMALL_MESSAGES } from './messages.js';
import { listenOnFreePort, SOCKJS_CLIENT_FILE, startPageServer, type ListeningServer } from './page-server.js';
import { realApp, type RealApp } from '../middleware/real-app.js';

const HTTP_TRANSPORTS = ['xhr-streaming', 'xhr-polling', 'eventsource', 'jsonp-polling', 'iframe-eventsource', 'iframe-htmlfile', 'iframe-xhr-polling'] as const;

interface ScenarioResult {
  transport: string | null;
  opened: boolean;
  received: unknown[];
  close: { code: number; reason: string; wasClean: boolean } | null;
  timedOut: boolean;
}

function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

describe('Chromium: sockjs-client behind koa-body and a real app\'s middleware', () => {
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

  for (const variant of ['without helmet', 'with koa-helmet'] as const) {
    describe(variant, () => {
      let server: ListeningServer;
      let real: RealApp;

      before(async () => {
        real = realApp({ helmet: variant === 'with koa-helmet', origins: [pageServer.origin], sockjsClientFile: SOCKJS_CLIENT_FILE });
        server = await listenOnFreePort((port, host, onListening) => real.app.listen(port, host, onListening));
      });

      after(async () => {
        await real?.route.close();
        await server?.close();
      });

      for (const transport of HTTP_TRANSPORTS) {
        test(`${transport}: echoes every message in order`, { timeout: 60_000 }, async () => {
          const context = await browser.newContext();
          try {
            const page = await context.newPage();
            const log = recordPageLog(page);
            await page.goto(`${pageServer.origin}/`);
            const result = await page.evaluate(
              (args) => (globalThis as unknown as { runEcho(a: unknown): Promise<ScenarioResult> }).runEcho(args),
              { url: `${server.origin}/echo`, transport, deadlineMs: 30_000, messages: SMALL_MESSAGES, last: LAST_MESSAGE },
            );
            const { received, ...rest } = result;
            const what = `${JSON.stringify({ ...rest, receivedCount: received.length })}${formatPageLog(log)}`;
            assert.equal(result.transport, transport, what);
            assert.equal(describeMismatch([...SMALL_MESSAGES, LAST_MESSAGE], result.received), undefined, what);
            assert.deepEqual(real.errors, []);
          } finally {
            await context.close();
          }
        });
      }
    });
  }
});
