// The iframe page's Content-Security-Policy in Chromium: a page on an allowed origin can frame
// /iframe.html (and the page inside bootstraps sockjs-client), a page on another origin gets a
// blocked frame. The origin check cannot see who frames the page, so the browser's
// frame-ancestors enforcement is what keeps other sites from driving the iframe transports.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { formatPageLog, launchChromium, recordPageLog, type Browser } from './chromium.js';
import { SOCKJS_CLIENT_FILE, startPageServer, type ListeningServer } from './page-server.js';
import { startSockjsServer, type SockjsTestServer } from './sockjs-server.js';

function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

describe('iframe page framing in Chromium', () => {
  let browser: Browser;
  let allowedPages: ListeningServer;
  let otherPages: ListeningServer;
  let server: SockjsTestServer;

  before(async () => {
    const files = {
      '/': { file: fixture('transports.html'), contentType: 'text/html; charset=utf-8' },
      '/transports.js': { file: fixture('transports.js'), contentType: 'application/javascript' },
      '/sockjs.min.js': { file: SOCKJS_CLIENT_FILE, contentType: 'application/javascript' },
    };
    allowedPages = await startPageServer(files);
    otherPages = await startPageServer(files);
    server = await startSockjsServer({ origins: [allowedPages.origin] });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await allowedPages?.close();
    await otherPages?.close();
  });

  /** Frames the iframe page from a page of `pageOrigin`; the text the frame shows, or its error URL. */
  async function frameFrom(pageOrigin: string): Promise<{ url: string; text: string | undefined; log: string[] }> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const log = recordPageLog(page);
      await page.goto(`${pageOrigin}/`);
      const src = `${server.origin}/echo/iframe.html`;
      // A string expression: the test's TypeScript has no DOM types. A frame blocked by CSP
      // still fires load (with Chromium's error page inside).
      await page.evaluate(
        `new Promise((resolve) => { const frame = document.createElement('iframe'); frame.src = ${JSON.stringify(src)}; frame.onload = () => resolve(); document.body.appendChild(frame); })`,
      );
      const frame = page.frames().find((candidate) => candidate !== page.mainFrame());
      assert.ok(frame, 'no child frame');
      const url = frame.url();
      const text = url === src ? await frame.evaluate<string>('document.body.innerText') : undefined;
      return { url, text, log };
    } finally {
      await context.close();
    }
  }

  test('a page on an allowed origin frames it, and sockjs-client runs inside', { timeout: 60_000 }, async () => {
    const { url, text, log } = await frameFrom(allowedPages.origin);
    assert.equal(url, `${server.origin}/echo/iframe.html`, formatPageLog(log));
    assert.match(text ?? '', /This is a SockJS hidden iframe/);
  });

  test('a page on another origin gets a blocked frame: no page, no script', { timeout: 60_000 }, async () => {
    const { url, text, log } = await frameFrom(otherPages.origin);
    assert.notEqual(url, `${server.origin}/echo/iframe.html`, `the frame loaded: ${formatPageLog(log)}`);
    assert.equal(text, undefined);
    assert.ok(log.some((line) => /frame-ancestors/.test(line)), `Chromium did not report the CSP block: ${formatPageLog(log)}`);
  });
});
