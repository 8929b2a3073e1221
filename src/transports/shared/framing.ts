/**
 * How each HTTP transport wraps a SockJS frame (`o`, `h`, `a[...]`, `c[...]`) for the wire, and
 * the preludes the streaming ones send first. Pure functions; the exact strings are the protocol
 * suite's (sockjs-protocol.py at the revision docs/transports.md names), and
 * test/unit/framing.test.ts pins them.
 */

/** xhr and xhr_streaming: one frame per line. */
export function xhrFrame(frame: string): string {
  return frame + '\n';
}

/**
 * xhr_streaming sends 2 KiB of `h` and a newline before anything else: some browsers (old IE's
 * XDomainRequest, early WebKit) only hand a streaming response to script after that much.
 */
export const XHR_STREAMING_PRELUDE = 'h'.repeat(2048) + '\n';

const EVENTSOURCE_ESCAPED = /[%\r\n\0]/g;
const EVENTSOURCE_NEEDS_ESCAPE = /[%\r\n\0]/;
const EVENTSOURCE_ESCAPES: Record<string, string> = { '%': '%25', '\r': '%0D', '\n': '%0A', '\0': '%00' };

/**
 * eventsource: one `data:` event per frame (protocol suite: EventSource, "beware leading
 * spaces"). sockjs-client runs every event through decodeURI(), so `%` (and the line breaks
 * and NUL an event cannot carry) are percent-encoded, as sockjs-node does.
 */
export function eventsourceFrame(frame: string): string {
  const data = EVENTSOURCE_NEEDS_ESCAPE.test(frame) ? frame.replace(EVENTSOURCE_ESCAPED, (char) => EVENTSOURCE_ESCAPES[char]!) : frame;
  return `data: ${data}\r\n\r\n`;
}

/** eventsource starts with an empty line: Opera ignored the first event otherwise. */
export const EVENTSOURCE_PRELUDE = '\r\n';

/**
 * jsonp: the frame as a JSON string argument to the client's callback. The callback name is
 * checked by `readCallback` before it gets here. The leading empty JavaScript comment (slash,
 * two stars, slash) keeps the body from starting with bytes the client chose: that is what let
 * a crafted callback make the response a Flash file (Rosetta Flash, CVE-2014-4671). The current
 * sockjs-protocol suite expects it on every JSONP body.
 */
export function jsonpFrame(callback: string, frame: string): string {
  return `/**/${callback}(${JSON.stringify(frame)});\r\n`;
}

/**
 * htmlfile: each frame is a script block calling `p()`, which the prelude defines. The frame is a
 * JSON string literal, with `<` escaped so that a message containing `</script>` or `<!--` cannot
 * end the block or confuse the HTML parser (the literal still decodes to the same text).
 */
export function htmlfileFrame(frame: string): string {
  return `<script>\np(${JSON.stringify(frame).replace(/</g, '\\u003c')});\n</script>\r\n`;
}

/** The document htmlfile opens with, before the padding (protocol suite: HtmlFile.head). */
const HTMLFILE_HEAD = `<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.CALLBACK;
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>`;

/** Safari parses a streamed document only after 1 KiB arrived, hence the padding. */
const HTMLFILE_MIN_BYTES = 1024;

/** htmlfile's prelude for a (validated, ASCII) callback name: the head, spaces to 1 KiB, a blank line. */
export function htmlfilePrelude(callback: string): string {
  const head = HTMLFILE_HEAD.replace('CALLBACK', () => callback);
  return head.padEnd(HTMLFILE_MIN_BYTES, ' ') + '\r\n\r\n';
}

/**
 * The iframe page (protocol suite: IframePage.iframe_body): loads sockjs-client from `sockjsUrl`
 * on the server's origin, which then talks to the server for the parent page. This is the
 * sockjs-client 1.x page: the script first, then `SockJS.bootstrap_iframe()` (0.3.x clients
 * called back through `_sockjs_onload` instead). `sockjsUrl` is validated by the options (no
 * quotes, angle brackets or spaces).
 */
export function iframePage(sockjsUrl: string): string {
  return `<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="${sockjsUrl}"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>`;
}
