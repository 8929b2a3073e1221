// Protocol suite: JSONEncoding.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { POST, sessionPart, startServer, type ConformanceServer } from './helpers.js';

/** The suite's escapable_by_client: what the browser escapes before sending (verbatim). */
const ESCAPABLE_BY_CLIENT =
  /[\"\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0604\u070f\u17b4\u17b5\u2000-\u20ff\ufeff\ufff0-\uffff\x00-\x1f\ufffe\uffff\u0300-\u0333\u033d-\u0346\u034a-\u034c\u0350-\u0352\u0357-\u0358\u035c-\u0362\u0374\u037e\u0387\u0591-\u05af\u05c4\u0610-\u0617\u0653-\u0654\u0657-\u065b\u065d-\u065e\u06df-\u06e2\u06eb-\u06ec\u0730\u0732-\u0733\u0735-\u0736\u073a\u073d\u073f-\u0741\u0743\u0745\u0747\u07eb-\u07f1\u0951\u0958-\u095f\u09dc-\u09dd\u09df\u0a33\u0a36\u0a59-\u0a5b\u0a5e\u0b5c-\u0b5d\u0e38-\u0e39\u0f43\u0f4d\u0f52\u0f57\u0f5c\u0f69\u0f72-\u0f76\u0f78\u0f80-\u0f83\u0f93\u0f9d\u0fa2\u0fa7\u0fac\u0fb9\u1939-\u193a\u1a17\u1b6b\u1cda-\u1cdb\u1dc0-\u1dcf\u1dfc\u1dfe\u1f71\u1f73\u1f75\u1f77\u1f79\u1f7b\u1f7d\u1fbb\u1fbe\u1fc9\u1fcb\u1fd3\u1fdb\u1fe3\u1feb\u1fee-\u1fef\u1ff9\u1ffb\u1ffd\u2000-\u2001\u20d0-\u20d1\u20d4-\u20d7\u20e7-\u20e9\u2126\u212a-\u212b\u2329-\u232a\u2adc\u302b-\u302c\uaab2-\uaab3\uf900-\ufa0d\ufa10\ufa12\ufa15-\ufa1e\ufa20\ufa22\ufa25-\ufa26\ufa2a-\ufa2d\ufa30-\ufa6d\ufa70-\ufad9\ufb1d\ufb1f\ufb2a-\ufb36\ufb38-\ufb3c\ufb3e\ufb40-\ufb41\ufb43-\ufb44\ufb46-\ufb4e]/;

/** The suite's escapable_by_server: what the server must escape (verbatim). */
const ESCAPABLE_BY_SERVER = /[\x00-\x1f\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/;

/** `"\uXXXX..."` for every code unit in [from, 65536) the pattern matches, lowercase hex. */
function killerStringEsc(pattern: RegExp, from: number): string {
  let escaped = '';
  for (let i = from; i < 65536; i++) {
    if (pattern.test(String.fromCharCode(i))) escaped += '\\u' + i.toString(16).padStart(4, '0');
  }
  return '"' + escaped + '"';
}

const CLIENT_KILLER_STRING_ESC = killerStringEsc(ESCAPABLE_BY_CLIENT, 0);
const SERVER_KILLER_STRING_ESC = killerStringEsc(ESCAPABLE_BY_SERVER, 255);

describe('JSON encoding', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('test_xhr_server_encodes: the server escapes every character the client cannot take raw', async () => {
    const transUrl = server.url + '/echo' + sessionPart();
    let r = await POST(transUrl + '/xhr');
    assert.equal(r.body, 'o\n');
    assert.equal(r.status, 200);

    const payload = '["' + (JSON.parse(SERVER_KILLER_STRING_ESC) as string) + '"]';
    r = await POST(transUrl + '/xhr_send', { body: payload });
    assert.equal(r.status, 204);

    r = await POST(transUrl + '/xhr');
    assert.equal(r.status, 200);
    const recv = r.body.trim().slice(2, -1);
    assert.equal(recv, SERVER_KILLER_STRING_ESC);
  });

  it('test_xhr_server_decodes: what the client escapes comes back as the same string', async () => {
    const transUrl = server.url + '/echo' + sessionPart();
    let r = await POST(transUrl + '/xhr');
    assert.equal(r.body, 'o\n');
    assert.equal(r.status, 200);

    r = await POST(transUrl + '/xhr_send', { body: '[' + CLIENT_KILLER_STRING_ESC + ']' });
    assert.equal(r.status, 204);

    r = await POST(transUrl + '/xhr');
    assert.equal(r.status, 200);
    const recv = r.body.trim().slice(2, -1);
    assert.equal(JSON.parse(recv), JSON.parse(CLIENT_KILLER_STRING_ESC));
  });

  it('lone surrogates survive the round trip escaped', async () => {
    const transUrl = server.url + '/echo' + sessionPart();
    await POST(transUrl + '/xhr');
    await POST(transUrl + '/xhr_send', { body: '["\\ud800x\\udfff"]' });
    const r = await POST(transUrl + '/xhr');
    assert.equal(r.body, 'a["\\ud800x\\udfff"]\n');
  });
});
