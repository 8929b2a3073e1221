// The two authentication examples in Chromium, through their own pages: a real login cookie
// (examples/cookie-auth) and a token in the SockJS URL (examples/token-auth), each over
// several transports, the iframe-based ones included.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type Koa from 'koa';
import { createCookieAuthApp } from '../../examples/cookie-auth/server.js';
import { createTokenAuthApp } from '../../examples/token-auth/server.js';
import { formatPageLog, launchChromium, recordPageLog, type Browser, type Page } from './chromium.js';
import { listenOnFreePort, type ListeningServer } from './page-server.js';

const WAIT_MS = 15_000;
const TRANSPORTS = ['websocket', 'xhr-streaming', 'eventsource', 'iframe-htmlfile', 'jsonp-polling'];

describe('authentication examples in Chromium', () => {
  let browser: Browser;
  const servers: ListeningServer[] = [];
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    for (const close of closers) await close();
    await Promise.all(servers.map((server) => server.close()));
  });

  async function start(app: Koa): Promise<string> {
    const server = await listenOnFreePort((port, host, onListening) => app.listen(port, host, onListening));
    servers.push(server);
    return server.origin;
  }

  async function withPage(steps: (page: Page) => Promise<void>): Promise<void> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const log = recordPageLog(page);
    try {
      await steps(page);
    } catch (error) {
      throw new Error(`${String(error)}${formatPageLog(log)}`);
    } finally {
      await context.close();
    }
  }

  /** Waits for an element with that text; through a locator (helmet's CSP forbids evaluated strings). */
  async function waitForText(page: Page, selector: string, text: string): Promise<void> {
    await page.locator(selector).filter({ hasText: text }).first().waitFor({ timeout: WAIT_MS });
  }

  test('cookie-auth: a logged-in person is welcomed by name on every transport; a visitor gets no session', { timeout: 120_000 }, async () => {
    const example = createCookieAuthApp({ keys: ['browser test key'] });
    closers.push(() => example.chat.close());
    const origin = await start(example.app);
    await withPage(async (page) => {
      await page.goto(`${origin}/`);
      // Not logged in: the page does not even try, and a forced attempt is refused.
      const refused = await page.evaluate<number>(`fetch('/chat/0/visitor/xhr', { method: 'POST' }).then((r) => r.status)`);
      assert.equal(refused, 401);
      await page.fill('#name', 'Alice');
      await Promise.all([page.waitForURL(`${origin}/`), page.click('#login button')]);
      for (const transport of TRANSPORTS) {
        await page.goto(`${origin}/?transport=${transport}`);
        await waitForText(page, '#status', `open (${transport})`);
        await waitForText(page, '#lines li', 'Welcome, Alice!');
        await page.fill('#text', `hello over ${transport}`);
        await page.click('#say button');
        await waitForText(page, '#lines li', `Alice: hello over ${transport}`);
      }
    });
    assert.equal(example.chat.manager.stats().refusals.authorization, 1);
  });

  test('token-auth: the token in the URL reaches every transport', { timeout: 120_000 }, async () => {
    const example = createTokenAuthApp();
    closers.push(() => example.chat.close());
    const origin = await start(example.app);
    await withPage(async (page) => {
      for (const transport of TRANSPORTS) {
        await page.goto(`${origin}/?transport=${transport}`);
        await page.fill('#name', 'Carol');
        await page.click('#join button');
        await waitForText(page, '#status', `open (${transport})`);
        await waitForText(page, '#lines li', 'Welcome, Carol!');
      }
    });
  });
});
