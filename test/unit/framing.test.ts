// The per-transport framing (src/transports/shared/framing.ts) and callback names, against exact strings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCallbackName, MAX_CALLBACK_LENGTH } from '../../src/transports/shared/callback.js';
import {
  EVENTSOURCE_PRELUDE,
  XHR_STREAMING_PRELUDE,
  eventsourceFrame,
  htmlfileFrame,
  htmlfilePrelude,
  iframePage,
  jsonpFrame,
  xhrFrame,
} from '../../src/transports/shared/framing.js';

describe('transport framing', () => {
  it('xhr: one frame per line', () => {
    assert.equal(xhrFrame('o'), 'o\n');
    assert.equal(xhrFrame('a["x"]'), 'a["x"]\n');
  });

  it('xhr_streaming prelude: 2048 h and a newline', () => {
    assert.equal(XHR_STREAMING_PRELUDE.length, 2049);
    assert.match(XHR_STREAMING_PRELUDE, /^h{2048}\n$/);
  });

  it('eventsource: data: events, CRLF prelude', () => {
    assert.equal(EVENTSOURCE_PRELUDE, '\r\n');
    assert.equal(eventsourceFrame('o'), 'data: o\r\n\r\n');
    assert.equal(eventsourceFrame('c[3000,"Go away!"]'), 'data: c[3000,"Go away!"]\r\n\r\n');
  });

  it('eventsource: percent-encodes what decodeURI() in sockjs-client would choke on', () => {
    assert.equal(eventsourceFrame('a["100% %61 %"]'), 'data: a["100%25 %2561 %25"]\r\n\r\n');
    assert.equal(eventsourceFrame('a\r\n\0b'), 'data: a%0D%0A%00b\r\n\r\n');
    assert.equal(decodeURI(eventsourceFrame('a["%E0%A4%A"]').slice(6, -4)), 'a["%E0%A4%A"]');
  });

  it('jsonp: /**/, then the frame as a JSON string argument', () => {
    assert.equal(jsonpFrame('callback', 'o'), '/**/callback("o");\r\n');
    assert.equal(jsonpFrame('x', 'a["x"]'), '/**/x("a[\\"x\\"]");\r\n');
    assert.equal(jsonpFrame('_jp.abc', 'c[3000,"Go away!"]'), '/**/_jp.abc("c[3000,\\"Go away!\\"]");\r\n');
  });

  it('jsonp: the body never starts with the client-chosen name (Rosetta Flash, CVE-2014-4671)', () => {
    for (const callback of ['CWS', 'FWS', 'ZWS', 'x', '_jp.a1']) {
      const body = jsonpFrame(callback, 'o');
      assert.ok(body.startsWith('/**/'), callback);
      assert.ok(!body.startsWith(callback), callback);
    }
  });

  it('htmlfile: a script block per frame, with < escaped', () => {
    assert.equal(htmlfileFrame('o'), '<script>\np("o");\n</script>\r\n');
    assert.equal(htmlfileFrame('a["x"]'), '<script>\np("a[\\"x\\"]");\n</script>\r\n');
    assert.equal(htmlfileFrame('a["</script><!--"]'), '<script>\np("a[\\"\\u003c/script>\\u003c!--\\"]");\n</script>\r\n');
  });

  it('htmlfile prelude: names the callback, padded with spaces past 1 KiB, ends with a blank line', () => {
    for (const callback of ['cb', 'a'.repeat(MAX_CALLBACK_LENGTH)]) {
      const prelude = htmlfilePrelude(callback);
      assert.ok(prelude.length > 1024);
      assert.ok(prelude.endsWith('\r\n\r\n'));
      const head = prelude.trimEnd();
      assert.ok(head.startsWith('<!doctype html>\n<html><head>'));
      assert.ok(head.includes(`    var c = parent.${callback};\n`));
      assert.ok(head.endsWith('  </script>'));
      assert.match(prelude.slice(head.length, -4), /^ *$/);
    }
  });

  it('iframe page: the sockjs-client 1.x page, loading the given client script', () => {
    assert.equal(
      iframePage('/sockjs.js'),
      `<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="/sockjs.js"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>`,
    );
  });
});

describe('callback names', () => {
  it('accepts letters, digits, _ and .', () => {
    for (const name of ['callback', '_jp.a1b2c3', 'x', 'A.B.C', '_'.repeat(MAX_CALLBACK_LENGTH)]) {
      assert.equal(checkCallbackName(name), undefined, name);
    }
  });

  it('refuses anything that could inject script, and long names', () => {
    for (const name of ['a(1)', 'a;b', 'a b', 'a-b', 'a"b', "a'b", 'a</script>', 'a\nb', 'a[0]', 'a=b', 'é', 'x'.repeat(MAX_CALLBACK_LENGTH + 1)]) {
      assert.match(checkCallbackName(name)!, /^invalid "callback" parameter/, JSON.stringify(name));
    }
  });
});
