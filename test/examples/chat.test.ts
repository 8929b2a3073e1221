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
    assert.deepEqual((await alice.waitFor(3))[2], 'bob the builder: alice: I am not alice');
    assert.deepEqual(await bob.waitFor(2), ['Hello bob the builder', 'bob the builder: alice: I am not alice']);

    await bob.close();
    assert.deepEqual((await alice.waitFor(4))[3], 'bob the builder left.');
    await alice.close();
    assert.equal(bob.received.length, 2, 'bob was never told about himself');
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
