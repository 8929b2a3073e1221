// Protocol suite: BaseUrlGreeting.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GET, startServer, type ConformanceServer } from './helpers.js';

describe('greeting: <base_url>/', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  it('test_greeting: 200, text/plain, "Welcome to SockJS!\\n", no cookie, with and without the slash', async () => {
    for (const url of [base, base + '/']) {
      const r = await GET(url);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type']!.replace(/ /g, ''), 'text/plain;charset=UTF-8');
      assert.equal(r.body, 'Welcome to SockJS!\n');
      assert.equal(r.headers['set-cookie'], undefined);
    }
  });

  it('test_notFound: other simple paths are 404', async () => {
    for (const suffix of ['/a', '/a.html', '//', '///', '/a/a', '/a/a/', '/a', '/a/']) {
      assert.equal((await GET(base + suffix)).status, 404, suffix);
    }
  });
});
