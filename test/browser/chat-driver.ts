// Drives examples/chat/public/index.html the way a person would: for the chat test and for the
// README screenshot.
import type { Page } from 'playwright-core';

const WAIT_MS = 15_000;

/** Opens the chat page, picks a nickname and a transport, connects and waits until open. */
export async function joinChat(page: Page, origin: string, nickname: string, transport: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.fill('#nickname', nickname);
  await page.selectOption('#transport', transport);
  await page.click('#connect');
  await page.waitForSelector('#status[data-state="open"]', { timeout: WAIT_MS });
}

export async function say(page: Page, text: string): Promise<void> {
  await page.fill('#message', text);
  await page.click('#send');
}

/** Joins a channel with the page's Join button. */
export async function joinChannel(page: Page, channel: string): Promise<void> {
  await page.fill('#channel', channel);
  await page.click('#join');
}

export function chatLines(page: Page): Promise<string[]> {
  return page.locator('#messages li').allTextContents();
}

/** Waits until the page shows exactly `expected`, in order; the error shows what it shows. */
export async function waitForLines(page: Page, expected: readonly string[]): Promise<void> {
  try {
    // A string, evaluated in the page, so no DOM types are needed here.
    await page.waitForFunction(
      `JSON.stringify(Array.from(document.querySelectorAll('#messages li'), (item) => item.textContent)) === ${JSON.stringify(JSON.stringify(expected))}`,
      null,
      { timeout: WAIT_MS },
    );
  } catch (error) {
    const shown = await chatLines(page).catch(() => ['<page gone>']);
    throw new Error(
      `chat page never showed ${JSON.stringify(expected)}; it shows ${JSON.stringify(shown)} ` +
        `(${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    );
  }
}
