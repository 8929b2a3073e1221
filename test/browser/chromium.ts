// Launches Debian's Chromium through playwright-core for the browser tests.
//
// playwright-core ships no browsers, so we drive the system Chromium (`apt-get install -y
// chromium` in CI). The flags keep it to the test's own traffic: without
// --disable-background-networking and friends Chromium calls Google services at start-up, and
// on build hosts without internet access those connections are refused. Every launch gets a
// fresh profile: `chromium.launch()` creates a temporary user-data dir and removes it on close.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Chromium is looked for; `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Why Chromium cannot be launched here, or `undefined` when it can. A missing Chromium fails
 * the browser tests, in CI and locally alike, rather than letting `npm test` pass without them.
 */
export function chromiumMissingReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  return (
    `Chromium not found at ${CHROMIUM_PATH}, so the browser tests cannot run. ` +
    'Install it (`apt-get install -y chromium`) or point CHROMIUM_PATH at one.'
  );
}

export async function launchChromium(): Promise<Browser> {
  const reason = chromiumMissingReason();
  if (reason !== undefined) throw new Error(reason);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/**
 * Collects what a page says on its console and the errors it throws, so a failing
 * assertion can show them; a browser-side failure is otherwise invisible from Node.
 */
export function recordPageLog(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (message) => lines.push(`console.${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => lines.push(`pageerror: ${error.message}`));
  page.on('requestfailed', (request) =>
    lines.push(`requestfailed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ''}`),
  );
  return lines;
}

/** Shows a page log in an assertion message, or nothing when it is empty. */
export function formatPageLog(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `\npage log:\n  ${lines.slice(-40).join('\n  ')}`;
}

export type { Browser, Page };
