// The smaller examples, each through its own page in Chromium, started in-process from their
// app factories exactly as their READMEs start them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type Koa from 'koa';
import { createBroadcastApp } from '../../examples/broadcast-route/server.js';
import { createCustomStoreApp } from '../../examples/custom-store/server.js';
import { createEchoApp } from '../../examples/echo/server.js';
import { formatPageLog, launchChromium, recordPageLog, type Browser, type Page } from './chromium.js';
import { listenOnFreePort, type ListeningServer } from './page-server.js';

const WAIT_MS = 15_000;

describe('examples in Chromium', () => {
  let browser: Browser;
  const servers: ListeningServer[] = [];

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await Promise.all(servers.map((server) => server.close()));
  });

  async function start(app: Koa): Promise<string> {
    const server = await listenOnFreePort((port, host, onListening) => app.listen(port, host, onListening));
    servers.push(server);
    return server.origin;
  }

  /** Runs `steps` on a fresh page; a failure carries what the page logged. */
  async function withPage(steps: (page: Page) => Promise<void>): Promise<void> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const log = recordPageLog(page);
    try {
      await steps(page);
    } catch (error) {
      if (error instanceof Error) error.message += formatPageLog(log);
      throw error;
    } finally {
      await context.close();
    }
  }

  test('echo: what is typed comes back', { timeout: 60_000 }, async () => {
    const origin = await start(createEchoApp());
    await withPage(async (page) => {
      await page.goto(`${origin}/`);
      await page.locator('#status', { hasText: /^Open/ }).waitFor({ timeout: WAIT_MS });
      await page.fill('#message', 'Hello, echo ✓');
      await page.press('#message', 'Enter');
      await page.waitForSelector('#log li:has-text("echo: Hello, echo ✓")', { timeout: WAIT_MS });
    });
  });

  test('broadcast-route: POST /announce reaches the listening page', { timeout: 60_000 }, async () => {
    const origin = await start(createBroadcastApp());
    await withPage(async (page) => {
      await page.goto(`${origin}/`);
      await page.locator('#status', { hasText: /^Listening/ }).waitFor({ timeout: WAIT_MS });
      const sessions = (await (await fetch(`${origin}/sessions`)).json()) as unknown[];
      assert.equal(sessions.length, 1);

      const response = await fetch(`${origin}/announce`, { method: 'POST', body: 'Deploy finished' });
      assert.deepEqual(await response.json(), { sentTo: 1 });
      await page.waitForSelector('#updates li:has-text("Deploy finished")', { timeout: WAIT_MS });

      // The page's own form POSTs too.
      await page.fill('#message', 'From the form');
      await page.click('#form button');
      await page.waitForSelector('#updates li:has-text("From the form")', { timeout: WAIT_MS });
    });
  });

  test('custom-store: sessions go through the user-written store', { timeout: 60_000 }, async () => {
    const { app, store } = createCustomStoreApp();
    const origin = await start(app);
    await withPage(async (page) => {
      await page.goto(`${origin}/`);
      await page.selectOption('#transport', 'xhr-polling');
      await page.click('#connect');
      await page.locator('#status', { hasText: 'Open (xhr-polling)' }).waitFor({ timeout: WAIT_MS });
      await page.fill('#message', 'stored and forwarded');
      await page.press('#message', 'Enter');
      await page.waitForSelector('#log li:has-text("echo: stored and forwarded")', { timeout: WAIT_MS });
    });
    const counts = store.counts();
    assert.ok((counts.create ?? 0) >= 1, `store.create was never called: ${JSON.stringify(counts)}`);
    const stats = (await (await fetch(`${origin}/stats`)).json()) as Record<string, number>;
    assert.deepEqual(Object.keys(stats).sort(), Object.keys(store.counts()).sort());
  });
});
