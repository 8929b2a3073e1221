// Takes docs/images/chat.png, the README's picture of examples/chat: two people chatting on
// different transports, seen from one of them.
//
//   npm run build && npx tsx test/browser/take-chat-screenshot.ts
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createChatApp } from '../../examples/chat/server.js';
import { joinChat, say, waitForLines } from './chat-driver.js';
import { launchChromium } from './chromium.js';
import { listenOnFreePort } from './page-server.js';

const OUTPUT = fileURLToPath(new URL('../../docs/images/chat.png', import.meta.url));

const app = createChatApp();
const chat = await listenOnFreePort((port, host, onListening) => app.listen(port, host, onListening));
const browser = await launchChromium();
try {
  const alice = await (await browser.newContext({ viewport: { width: 800, height: 640 } })).newPage();
  const bob = await (await browser.newContext()).newPage();
  await joinChat(alice, chat.origin, 'alice', 'websocket');
  await joinChat(bob, chat.origin, 'bob', 'xhr-streaming');
  const lines = ['Hello alice', 'bob joined.'];
  await waitForLines(alice, lines);
  // One line at a time, so the order does not depend on which transport is faster.
  for (const [page, nickname, text] of [
    [alice, 'alice', 'Hi bob! I am on a WebSocket.'],
    [bob, 'bob', 'Hello alice, xhr-streaming here, behind a proxy that hates WebSockets.'],
    [alice, 'alice', 'Same chat either way.'],
  ] as const) {
    await say(page, text);
    lines.push(`#general ${nickname}: ${text}`);
    await waitForLines(alice, lines);
  }
  await fetch(`${chat.origin}/broadcast?message=${encodeURIComponent('(pushed by GET /broadcast) Deploy finished')}`);
  lines.push('(pushed by GET /broadcast) Deploy finished');
  await waitForLines(alice, lines);
  await alice.fill('#message', 'Typing…');
  await mkdir(new URL('../../docs/images/', import.meta.url), { recursive: true });
  await alice.screenshot({ path: OUTPUT, fullPage: true });
  console.log(`wrote ${OUTPUT}`);
  // Leave before the browser goes: a connection cut mid-response is logged by Koa as an error.
  for (const page of [alice, bob]) {
    await page.click('#disconnect');
    await page.waitForSelector('#status[data-state="closed"]');
  }
} finally {
  await browser.close();
  await chat.close();
}
