// Protocol suite: HtmlFile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GET, POST, sessionPart, startServer, StreamingResponse, type ConformanceServer } from './helpers.js';
import { verifyNotCached } from './verify.js';

/** The suite's HtmlFile.head, verbatim. */
const HEAD = `
<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.%s;
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>
`.trim();

describe('htmlfile: /*/*/htmlfile', () => {
  let server: ConformanceServer;
  let base: string;
  before(async () => {
    server = await startServer();
    base = server.url + '/echo';
  });
  after(() => server.close());

  it('test_transport: the padded document, then one script per frame', async () => {
    const url = base + sessionPart();
    const r = await StreamingResponse.open('GET', url + '/htmlfile?c=%63allback');
    assert.equal(r.status, 200);
    assert.equal(r.header('content-type')!.replace(/ /g, ''), 'text/html;charset=UTF-8');
    verifyNotCached(r.head);
    const d = await r.read();
    assert.equal(d.trim(), HEAD.replace('%s', 'callback'));
    assert.ok(d.length > 1024);
    assert.equal(await r.read(), '<script>\np("o");\n</script>\r\n');

    const r1 = await POST(url + '/xhr_send', { body: '["x"]' });
    assert.equal(r1.body, '');
    assert.equal(r1.status, 204);
    assert.equal(await r.read(), '<script>\np("a[\\"x\\"]");\n</script>\r\n');
    r.close();
  });

  it('test_no_callback', async () => {
    const r = await GET(base + '/a/a/htmlfile');
    assert.equal(r.status, 500);
    assert.ok(r.body.includes('"callback" parameter required'));
  });

  it('test_invalid_callback', async () => {
    for (const callback of ['%20', '*', 'abc(', 'abc%28']) {
      const r = await GET(base + '/a/a/htmlfile?c=' + callback);
      assert.equal(r.status, 500, callback);
      assert.ok(r.body.includes('invalid "callback" parameter'), callback);
    }
  });

  it('test_response_limit', async () => {
    const url = base + sessionPart();
    const r = await StreamingResponse.open('GET', url + '/htmlfile?c=callback');
    assert.equal(r.status, 200);
    assert.ok(await r.read()); // prelude
    assert.equal(await r.read(), '<script>\np("o");\n</script>\r\n');
    const msg = 'x'.repeat(4096);
    const r1 = await POST(url + '/xhr_send', { body: '["' + msg + '"]' });
    assert.equal(r1.status, 204);
    assert.equal(await r.read(), '<script>\np("a[\\"' + msg + '\\"]");\n</script>\r\n');
    assert.equal(await r.read(), '');
    r.close();
  });

  it('a message containing </script> cannot end the script block', async () => {
    const url = base + sessionPart();
    const r = await StreamingResponse.open('GET', url + '/htmlfile?c=callback');
    await r.read();
    await r.read();
    const evil = '</script><script>alert(1)</script><!--';
    await POST(url + '/xhr_send', { body: JSON.stringify([evil]) });
    const chunk = await r.read();
    assert.ok(chunk.startsWith('<script>\np(') && chunk.endsWith(');\n</script>\r\n'));
    const inner = chunk.slice('<script>\np('.length, -');\n</script>\r\n'.length);
    assert.ok(!inner.includes('<'), `no raw "<" inside the block: ${inner}`);
    // The literal decodes to the frame, which decodes to the message.
    const frame = JSON.parse(inner) as string;
    assert.deepEqual(JSON.parse(frame.slice(1)), [evil]);
    r.close();
  });

  it('callback names that could inject script are refused with 500, and never echoed', async () => {
    for (const c of ['alert(1)', 'a</script>', 'x;y', 'a b', 'a-b', '"x"', 'a'.repeat(65)]) {
      const r = await GET(base + sessionPart() + '/htmlfile?c=' + encodeURIComponent(c));
      assert.equal(r.status, 500, c);
      assert.match(r.body, /invalid "callback" parameter/);
      assert.ok(!r.body.includes(c), c);
      assert.equal(r.headers['content-type'], 'text/plain; charset=UTF-8');
    }
    const empty = await GET(base + sessionPart() + '/htmlfile?c=');
    assert.equal(empty.status, 500);
    assert.ok(empty.body.includes('"callback" parameter required'));
  });

  it('accepts `callback=` as well as `c=`, and dotted names', async () => {
    const r = await StreamingResponse.open('GET', base + sessionPart() + '/htmlfile?callback=_jp.a1b2c3');
    assert.equal(r.status, 200);
    assert.ok((await r.read()).includes('var c = parent._jp.a1b2c3;'));
    r.close();
  });
});
