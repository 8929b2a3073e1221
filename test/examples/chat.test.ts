// examples/chat through the real sockjs-client in Node: who is greeted, who is told about whom,
// and what the /broadcast route answers. (test/browser/chat.test.ts drives the page itself.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createChatApp, nicknameOf } from '../../examples/chat/server.js';
import { request } from '../helpers/http-client.js';
import { listen, type Listening } from '../helpers/listen.js';
import { TestClient } from '../helpers/sockjs-client.js';

describe('examples/chat', () => {
  let chat: Listening;
  before(async () => {
    chat = await listen(createChatApp());
  });
  after(() => chat.close());

  it('greets by name, tells only the others who joined and left, and names every chat line', async () => {
    const alice = new TestClient(`${chat.url}/chat?name=alice`, 'websocket');
    await alice.opened;
    assert.deepEqual(await alice.waitFor(1), ['Hello alice']);

    const bob = new TestClient(`${chat.url}/chat?name=${encodeURIComponent('bob the builder')}`, 'xhr-streaming');
    await bob.opened;
    assert.deepEqual(await alice.waitFor(2), ['Hello alice', 'bob the builder joined.']);

    // The page sends plain text; the server puts the sender's name in front of it.
    bob.send('alice: I am not alice');
    assert.deepEqual((await alice.waitFor(3))[2], '#general bob the builder: alice: I am not alice');
    assert.deepEqual(await bob.waitFor(2), ['Hello bob the builder', '#general bob the builder: alice: I am not alice']);

    await bob.close();
    assert.deepEqual((await alice.waitFor(4))[3], 'bob the builder left.');
    await alice.close();
    assert.equal(bob.received.length, 2, 'bob was never told about himself');
  });

  it('channels: /join and /leave; what is said reaches the channel joined last, and only its members', async () => {
    const alice = new TestClient(`${chat.url}/chat?name=alice`, 'websocket');
    await alice.opened;
    await alice.waitFor(1);
    const bob = new TestClient(`${chat.url}/chat?name=bob`, 'xhr-polling');
    await bob.opened;
    assert.deepEqual(await bob.waitFor(1), ['Hello bob']);
    await alice.waitFor(2);

    alice.send('/join rust');
    assert.equal((await alice.waitFor(3))[2], 'You joined #rust.');
    alice.send('anyone here?');
    assert.equal((await alice.waitFor(4))[3], '#rust alice: anyone here?');
    // bob is in #general only: he hears #general, not #rust.
    bob.send('hello general');
    assert.equal((await bob.waitFor(2))[1], '#general bob: hello general');
    assert.equal((await alice.waitFor(5))[4], '#general bob: hello general', 'alice is still in #general');

    bob.send('/join rust');
    assert.equal((await bob.waitFor(3))[2], 'You joined #rust.');
    assert.equal((await alice.waitFor(6))[5], 'bob joined #rust.');
    bob.send('me!');
    assert.equal((await alice.waitFor(7))[6], '#rust bob: me!');
    assert.equal((await bob.waitFor(4))[3], '#rust bob: me!');

    alice.send('/leave rust');
    assert.equal((await alice.waitFor(8))[7], 'You left #rust. You are in #general.');
    assert.equal((await bob.waitFor(5))[4], 'alice left #rust.');
    bob.send('still here');
    assert.equal((await bob.waitFor(6))[5], '#rust bob: still here');
    alice.send('/leave rust');
    alice.send('/join no spaces');
    alice.send('/join ../x');
    alice.send('/part rust');
    assert.deepEqual((await alice.waitFor(12)).slice(8), [
      'You are not in #rust.',
      'A channel name is letters, digits, - and _ (at most 32).',
      'A channel name is letters, digits, - and _ (at most 32).',
      'Commands: /join <channel>, /leave <channel>.',
    ]);

    const reply = await request(`${chat.url}/broadcast?channel=rust&message=${encodeURIComponent('rust 2.0 is out')}`);
    assert.equal(reply.status, 200);
    assert.equal((await bob.waitFor(7))[6], '#rust rust 2.0 is out');
    assert.equal((await request(`${chat.url}/broadcast?channel=a%20b&message=x`)).status, 400);
    await bob.close();
    assert.equal((await alice.waitFor(13))[12], 'bob left.');
    await alice.close();
    assert.equal(alice.received.length, 13, 'alice heard nothing of #rust after leaving it');
  });

  it('/broadcast answers 400 without a message, and sends one that is there', async () => {
    for (const query of ['', '?message=', '?message=a&message=b']) {
      const reply = await request(`${chat.url}/broadcast${query}`);
      assert.equal(reply.status, 400, `GET /broadcast${query}`);
      assert.match(reply.body, /message=/);
    }
    const client = new TestClient(`${chat.url}/chat?name=carol`, 'websocket');
    await client.opened;
    const reply = await request(`${chat.url}/broadcast?message=${encodeURIComponent('deploy done')}`);
    assert.deepEqual([reply.status, reply.body], [200, 'Message has been sent']);
    assert.deepEqual(await client.waitFor(2), ['Hello carol', 'deploy done']);
    await client.close();
  });

  it('takes nicknames as given, within reason', () => {
    assert.equal(nicknameOf('/chat/1/2/websocket?name=alice'), 'alice');
    assert.equal(nicknameOf('/chat/1/2/websocket'), 'anonymous');
    assert.equal(nicknameOf('/chat/1/2/websocket?name=%20%0A%20'), 'anonymous');
    assert.equal(nicknameOf(`/chat/1/2/websocket?name=${'x'.repeat(100)}`), 'x'.repeat(32));
  });
});
