// examples/chat in Chromium: two people in two browser contexts, on two different transports,
// see each other's messages, who joins and leaves, and a push from the /broadcast route.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createChatApp } from '../../examples/chat/server.js';
import { joinChannel, joinChat, say, waitForLines } from './chat-driver.js';
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
      await waitForLines(bob, ['Hello bob', '#general alice: hi bob']);
      await waitForLines(alice, ['Hello alice', 'bob joined.', '#general alice: hi bob']);

      await say(bob, 'hi alice 👋 </script>');
      await waitForLines(alice, ['Hello alice', 'bob joined.', '#general alice: hi bob', '#general bob: hi alice 👋 </script>']);
      await waitForLines(bob, ['Hello bob', '#general alice: hi bob', '#general bob: hi alice 👋 </script>']);

      const response = await fetch(`${chat.origin}/broadcast?message=${encodeURIComponent('Server says hi')}`);
      assert.equal(await response.text(), 'Message has been sent');
      await waitForLines(bob, ['Hello bob', '#general alice: hi bob', '#general bob: hi alice 👋 </script>', 'Server says hi']);

      await bob.click('#disconnect');
      await bob.waitForSelector('#status[data-state="closed"]');
      await waitForLines(alice, [
        'Hello alice',
        'bob joined.',
        '#general alice: hi bob',
        '#general bob: hi alice 👋 </script>',
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

  test('channels: join and leave with the buttons or by typing; lines reach only the channel', { timeout: 90_000 }, async () => {
    const aliceContext = await browser.newContext();
    const bobContext = await browser.newContext();
    try {
      const alice = await aliceContext.newPage();
      const bob = await bobContext.newPage();
      const aliceLog = recordPageLog(alice);
      const bobLog = recordPageLog(bob);
      await joinChat(alice, chat.origin, 'alice', 'websocket');
      await waitForLines(alice, ['Hello alice']);
      await joinChat(bob, chat.origin, 'bob', 'xhr-polling');
      await waitForLines(bob, ['Hello bob']);
      const aliceLines = ['Hello alice', 'bob joined.'];
      const bobLines = ['Hello bob'];
      await waitForLines(alice, aliceLines);

      // alice joins #rust with the button: what she says goes there, and bob is not in it.
      await joinChannel(alice, 'rust');
      aliceLines.push('You joined #rust.');
      await waitForLines(alice, aliceLines);
      await say(alice, 'anyone into rust?');
      aliceLines.push('#rust alice: anyone into rust?');
      await waitForLines(alice, aliceLines);
      // bob, in #general, is still heard by alice, who is in #general too.
      await say(bob, 'hello general');
      bobLines.push('#general bob: hello general');
      aliceLines.push('#general bob: hello general');
      await waitForLines(bob, bobLines);
      await waitForLines(alice, aliceLines);

      // bob types the command.
      await say(bob, '/join rust');
      bobLines.push('You joined #rust.');
      aliceLines.push('bob joined #rust.');
      await waitForLines(bob, bobLines);
      await waitForLines(alice, aliceLines);
      await say(bob, 'me!');
      bobLines.push('#rust bob: me!');
      aliceLines.push('#rust bob: me!');
      await waitForLines(bob, bobLines);
      await waitForLines(alice, aliceLines);

      // alice leaves #rust with the button, and hears no more of it.
      await alice.fill('#channel', 'rust');
      await alice.click('#leave');
      aliceLines.push('You left #rust. You are in #general.');
      bobLines.push('alice left #rust.');
      await waitForLines(alice, aliceLines);
      await waitForLines(bob, bobLines);
      await say(bob, 'alone now');
      bobLines.push('#rust bob: alone now');
      await waitForLines(bob, bobLines);
      const pushed = await fetch(`${chat.origin}/broadcast?channel=general&message=${encodeURIComponent('to #general only')}`);
      assert.equal(pushed.status, 200);
      // Both are still in #general.
      aliceLines.push('#general to #general only');
      bobLines.push('#general to #general only');
      await waitForLines(alice, aliceLines);
      await waitForLines(bob, bobLines);
      await alice.click('#disconnect');
      await bob.click('#disconnect');
      await alice.waitForSelector('#status[data-state="closed"]');
      await bob.waitForSelector('#status[data-state="closed"]');
      assert.deepEqual([...aliceLog, ...bobLog].filter((line) => line.startsWith('pageerror')), [], formatPageLog([...aliceLog, ...bobLog]));
    } finally {
      await aliceContext.close();
      await bobContext.close();
    }
  });
});
