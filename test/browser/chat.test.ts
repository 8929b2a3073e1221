// examples/chat in Chromium: two people in two browser contexts, on two different transports,
// see each other's messages, who joins and leaves, and a push from the /broadcast route.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createChatApp } from '../../examples/chat/server.js';
import { joinChat, say, waitForLines } from './chat-driver.js';
import { formatPageLog, launchChromium, recordPageLog, type Browser } from './chromium.js';
import { listenOnFreePort, type ListeningServer } from './page-server.js';

describe('examples/chat in Chromium', () => {
  let browser: Browser;
  let chat: ListeningServer;

  before(async () => {
    const app = createChatApp();
    chat = await listenOnFreePort((port, host, onListening) => app.listen(port, host, onListening));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await chat?.close();
  });

  test('two people chat, and see joins, leaves and a /broadcast push', { timeout: 90_000 }, async () => {
    const aliceContext = await browser.newContext();
    const bobContext = await browser.newContext();
    try {
      const alice = await aliceContext.newPage();
      const bob = await bobContext.newPage();
      const aliceLog = recordPageLog(alice);
      const bobLog = recordPageLog(bob);

      await joinChat(alice, chat.origin, 'alice', 'xhr-streaming');
      await waitForLines(alice, ['Hello alice']);
      assert.match(await alice.textContent('#status') ?? '', /Connected as alice using xhr-streaming/);

      // Nobody is told that they joined themselves; the others learn who did.
      await joinChat(bob, chat.origin, 'bob', 'websocket');
      await waitForLines(bob, ['Hello bob']);
      await waitForLines(alice, ['Hello alice', 'bob joined.']);
      assert.match(await bob.textContent('#status') ?? '', /Connected as bob using websocket/);

      await say(alice, 'hi bob');
      await waitForLines(bob, ['Hello bob', 'alice: hi bob']);
      await waitForLines(alice, ['Hello alice', 'bob joined.', 'alice: hi bob']);

      await say(bob, 'hi alice 👋 </script>');
      await waitForLines(alice, ['Hello alice', 'bob joined.', 'alice: hi bob', 'bob: hi alice 👋 </script>']);
      await waitForLines(bob, ['Hello bob', 'alice: hi bob', 'bob: hi alice 👋 </script>']);

      const response = await fetch(`${chat.origin}/broadcast?message=${encodeURIComponent('Server says hi')}`);
      assert.equal(await response.text(), 'Message has been sent');
      await waitForLines(bob, ['Hello bob', 'alice: hi bob', 'bob: hi alice 👋 </script>', 'Server says hi']);

      await bob.click('#disconnect');
      await bob.waitForSelector('#status[data-state="closed"]');
      await waitForLines(alice, [
        'Hello alice',
        'bob joined.',
        'alice: hi bob',
        'bob: hi alice 👋 </script>',
        'Server says hi',
        'bob left.',
      ]);
      assert.deepEqual(
        await alice.locator('#messages li.system').allTextContents(),
        ['Hello alice', 'bob joined.', 'Server says hi', 'bob left.'],
        'server lines are styled apart from what people say',
      );
      await alice.click('#disconnect');
      await alice.waitForSelector('#status[data-state="closed"]');
      assert.deepEqual([...aliceLog, ...bobLog].filter((line) => line.startsWith('pageerror')), [], formatPageLog([...aliceLog, ...bobLog]));
    } finally {
      await aliceContext.close();
      await bobContext.close();
    }
  });
});
