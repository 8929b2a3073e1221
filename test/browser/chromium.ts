// Launches Debian's Chromium through playwright-core for the browser tests.
//
// playwright-core ships no browsers, so we drive the system Chromium (`apt-get install -y
// chromium` in CI). The flags keep it off the network: without --disable-background-networking
// and friends, Chromium's own background fetches are refused in the sandboxed build hosts and
// the browser stalls. Every test run gets a fresh profile: `chromium.launch()` creates a new
// temporary user-data dir and removes it on close.
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

const IN_CI = Boolean(process.env.CI);

/**
 * Why the browser tests cannot run here, or `undefined` when they can.
 *
 * Outside CI a missing Chromium is a loud skip (the reason is printed and shown by the test
 * runner); in CI it is not an option: `requireChromium()` fails the test instead.
 */
export function chromiumMissingReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  return (
    `Chromium not found at ${CHROMIUM_PATH}: browser tests NOT RUN. ` +
    'Install it with `apt-get install -y chromium` or set CHROMIUM_PATH.'
  );
}

/**
 * The `skip` option for a browser test suite: a reason string outside CI when Chromium is
 * missing, `false` otherwise (in CI the suite runs and fails in `launchChromium`).
 */
export function skipUnlessChromium(): string | false {
  const reason = chromiumMissingReason();
  if (reason === undefined || IN_CI) return false;
  process.stderr.write(`\n${'!'.repeat(78)}\n!! ${reason}\n${'!'.repeat(78)}\n\n`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  const reason = chromiumMissingReason();
  if (reason !== undefined) throw new Error(IN_CI ? `${reason} CI must install Chromium.` : reason);
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
