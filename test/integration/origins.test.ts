// The `origins` option on every endpoint, byte for byte: a page on an allowed origin, a
// disallowed one, `Origin: null` and no Origin at all. A refused request gets exactly a 403
// with no CORS header and creates, receives and sends nothing; websocket upgrades (RFC 6455,
// hixie-76, raw) are refused before their handshake.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { Session, sockjs, type SockjsMiddleware } from '../../src/index.js';
import { RawHttpConnection, type ResponseHead } from '../conformance/helpers.js';
import { listen, type Listening } from '../helpers/listen.js';

const ALLOWED = 'http://allowed.test';
const DISALLOWED = 'http://evil.test';
const REFUSAL_BODY = 'Origin not allowed.';
/** Every header of a refusal, exactly (Date and connection management aside). */
const REFUSAL_HEADERS = {
  vary: 'Origin',
  'content-type': 'text/plain; charset=UTF-8',
  'x-content-type-options': 'nosniff',
  'content-length': String(Buffer.byteLength(REFUSAL_BODY)),
};
const IGNORED = new Set(['date', 'connection', 'keep-alive']);

interface Exchange {
  head: ResponseHead;
  /** Headers without Date and connection management. */
  headers: Record<string, string>;
  body: string;
}

let opened = 0;
let received: unknown[] = [];

class Echo extends Session {
  override onOpen(): void {
    opened++;
  }
  override onMessage(message: unknown): void {
    received.push(message);
    this.send(message);
  }
}

let server: Listening;
let route: SockjsMiddleware;

/** One request on its own connection; reads the head and, unless streaming, the whole body. */
async function exchange(method: string, path: string, headers: Record<string, string>, body?: string, streaming = false): Promise<Exchange> {
  const connection = await RawHttpConnection.open(server.url);
  try {
    const head = await connection.request(method, `/s${path}`, { headers, ...(body !== undefined ? { body } : {}) });
    const length = head.headers['content-length'];
    let text = '';
    if (!streaming && head.status !== 101 && head.status !== 204 && head.status !== 304) {
      text = length !== undefined ? (await connection.read(Number(length))).toString('utf8') : await connection.readToEnd();
    }
    const kept = Object.fromEntries(Object.entries(head.headers).filter(([name]) => !IGNORED.has(name)));
    return { head, headers: kept, body: text };
  } finally {
    connection.close();
  }
}

function originHeaders(origin: string | undefined): Record<string, string> {
  return origin === undefined ? {} : { Origin: origin };
}

function assertRefused(reply: Exchange, what: string): void {
  assert.equal(reply.head.status, 403, what);
  assert.deepEqual(reply.headers, REFUSAL_HEADERS, what);
  assert.equal(reply.body, REFUSAL_BODY, what);
}

const WS_HEADERS = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };
const HIXIE_HEADERS = { Connection: 'Upgrade', Upgrade: 'WebSocket', 'Sec-WebSocket-Key1': '4 @1  46546xW%0l 1 5', 'Sec-WebSocket-Key2': '12998 5 Y3 1  .P00' };

let serial = 0;
function sessionPath(): string {
  return `/000/origins-${++serial}`;
}

describe('origins on every endpoint', () => {
  before(async () => {
    const app = new Koa();
    route = sockjs({ prefix: '/s', session: Echo, origins: [ALLOWED] });
    app.use(route);
    server = await listen(app);
  });
  after(async () => {
    await route.close();
    await server.close();
  });

  /** Runs `request` for a disallowed origin and for null; both refused, nothing created or received. */
  async function refusedForOthers(request: (origin: string) => Promise<Exchange>, what: string): Promise<void> {
    const sessionsBefore = route.manager.size;
    const recordsBefore = await route.manager.count();
    const openedBefore = opened;
    const receivedBefore = received.length;
    const refusalsBefore = route.manager.stats().refusals.origin;
    for (const origin of [DISALLOWED, 'null']) assertRefused(await request(origin), `${what} from ${origin}`);
    assert.equal(route.manager.stats().refusals.origin, refusalsBefore + 2, `${what}: counted as refused by origin`);
    assert.equal(route.manager.size, sessionsBefore, `${what}: no session`);
    assert.equal(await route.manager.count(), recordsBefore, `${what}: no store record`);
    assert.equal(opened, openedBefore, `${what}: no onOpen`);
    assert.equal(received.length, receivedBefore, `${what}: nothing delivered`);
  }

  it('greeting: the same answer for every page (nothing to protect)', async () => {
    for (const origin of [ALLOWED, DISALLOWED, 'null', undefined]) {
      const reply = await exchange('GET', '/', originHeaders(origin));
      assert.equal(reply.head.status, 200);
      assert.equal(reply.body, 'Welcome to SockJS!\n');
      assert.equal(reply.headers['access-control-allow-origin'], undefined);
    }
  });

  it('/info: allowed and no Origin answered with CORS and the allowed origins; others 403', async () => {
    const allowed = await exchange('GET', '/info', originHeaders(ALLOWED));
    assert.equal(allowed.head.status, 200);
    assert.equal(allowed.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(allowed.headers['access-control-allow-credentials'], 'true');
    // The route's own origin first: it is always allowed.
    assert.deepEqual((JSON.parse(allowed.body) as { origins: string[] }).origins, [`127.0.0.1:${server.port}`, 'allowed.test:80']);
    const none = await exchange('GET', '/info', {});
    assert.equal(none.head.status, 200);
    assert.equal(none.headers['access-control-allow-origin'], '*');
    assert.equal(none.headers['access-control-allow-credentials'], undefined);
    await refusedForOthers((origin) => exchange('GET', '/info', originHeaders(origin)), 'GET /info');
  });

  it('preflights (/info, xhr, xhr_send, xhr_streaming): 204 for allowed and none, 403 for others', async () => {
    for (const path of ['/info', `${sessionPath()}/xhr`, `${sessionPath()}/xhr_send`, `${sessionPath()}/xhr_streaming`]) {
      const headers = { 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' };
      const allowed = await exchange('OPTIONS', path, { ...headers, Origin: ALLOWED });
      assert.equal(allowed.head.status, 204, path);
      assert.equal(allowed.headers['access-control-allow-origin'], ALLOWED, path);
      assert.equal(allowed.headers['access-control-allow-headers'], 'content-type', path);
      assert.equal((await exchange('OPTIONS', path, headers)).head.status, 204, path);
      await refusedForOthers((origin) => exchange('OPTIONS', path, { ...headers, Origin: origin }), `OPTIONS ${path}`);
    }
  });

  it('iframe page: served to everyone, framable only by the allowed pages', async () => {
    for (const origin of [ALLOWED, DISALLOWED, 'null', undefined]) {
      for (const path of ['/iframe.html', '/iframe-1.6.1.html']) {
        const reply = await exchange('GET', path, originHeaders(origin));
        assert.equal(reply.head.status, 200);
        assert.equal(reply.headers['content-security-policy'], `frame-ancestors 'self' ${ALLOWED}`);
        assert.equal(reply.headers['access-control-allow-origin'], undefined);
      }
    }
  });

  it('receiving transports: allowed and no Origin open a session, others get 403 and open none', async () => {
    const cases = [
      { method: 'POST', path: 'xhr', body: 'o\n', streaming: false, cors: true },
      { method: 'POST', path: 'xhr_streaming', body: undefined, streaming: true, cors: true },
      { method: 'GET', path: 'eventsource', body: undefined, streaming: true, cors: true },
      { method: 'GET', path: 'htmlfile?c=cb', body: undefined, streaming: true, cors: false },
      { method: 'GET', path: 'jsonp?c=cb', body: '/**/cb("o");\r\n', streaming: false, cors: false },
    ];
    for (const c of cases) {
      for (const origin of [ALLOWED, undefined]) {
        const before = opened;
        const reply = await exchange(c.method, `${sessionPath()}/${c.path}`, originHeaders(origin), undefined, c.streaming);
        assert.equal(reply.head.status, 200, `${c.path} from ${origin}`);
        if (c.body !== undefined) assert.equal(reply.body, c.body, c.path);
        if (c.cors) assert.equal(reply.headers['access-control-allow-origin'], origin ?? '*', c.path);
        await waitFor(() => opened === before + 1, `onOpen of ${c.path}`);
      }
      await refusedForOthers((origin) => exchange(c.method, `${sessionPath()}/${c.path}`, originHeaders(origin)), c.path);
    }
  });

  it('sending transports: a disallowed page cannot send to a session it knows the URL of', async () => {
    const path = sessionPath();
    assert.equal((await exchange('POST', `${path}/xhr`, originHeaders(ALLOWED))).body, 'o\n');
    await refusedForOthers((origin) => exchange('POST', `${path}/xhr_send`, originHeaders(origin), '["x"]'), 'xhr_send');
    await refusedForOthers(
      (origin) => exchange('POST', `${path}/jsonp_send`, { ...originHeaders(origin), 'Content-Type': 'application/x-www-form-urlencoded' }, 'd=%5B%22x%22%5D'),
      'jsonp_send',
    );
    const sent = await exchange('POST', `${path}/xhr_send`, originHeaders(ALLOWED), '["from the page"]');
    assert.equal(sent.head.status, 204);
    assert.equal(sent.headers['access-control-allow-origin'], ALLOWED);
    assert.equal((await exchange('POST', `${path}/jsonp_send`, { 'Content-Type': 'application/x-www-form-urlencoded' }, 'd=%5B%22no%20origin%22%5D')).body, 'ok');
    assert.deepEqual(received.slice(-2), ['from the page', 'no origin']);
  });

  it('websocket upgrades (RFC 6455, hixie-76, raw): 101 for allowed and none, 403 before the handshake for others', async () => {
    const upgrades = [
      { path: () => `${sessionPath()}/websocket`, headers: WS_HEADERS },
      { path: () => `${sessionPath()}/websocket`, headers: HIXIE_HEADERS },
      { path: () => '/websocket', headers: WS_HEADERS },
    ];
    for (const upgrade of upgrades) {
      const sizeBefore = route.manager.size;
      for (const origin of [ALLOWED, undefined]) {
        const reply = await exchange('GET', upgrade.path(), { ...upgrade.headers, ...originHeaders(origin) });
        assert.equal(reply.head.status, 101, `${JSON.stringify(upgrade.headers)} from ${origin}`);
      }
      // Those sessions end with their connections (closed above) before the refusals are counted.
      await waitFor(() => route.manager.size === sizeBefore, 'the accepted websocket sessions to end');
      await refusedForOthers((origin) => exchange('GET', upgrade.path(), { ...upgrade.headers, Origin: origin }), `upgrade ${upgrade.path()}`);
    }
  });

  it('a page that sends no Origin is judged by its Referer, or as null when it hid that too', async () => {
    const fromAllowed = await exchange('GET', `${sessionPath()}/jsonp?c=cb`, { Referer: `${ALLOWED}/chat.html` });
    assert.equal(fromAllowed.body, '/**/cb("o");\r\n');
    assertRefused(await exchange('GET', `${sessionPath()}/jsonp?c=cb`, { Referer: `${DISALLOWED}/attack.html` }), 'jsonp with a foreign Referer');
    assertRefused(await exchange('GET', `${sessionPath()}/jsonp?c=cb`, { 'Sec-Fetch-Site': 'cross-site' }), 'jsonp from a hidden cross-site page');
  });

  it('a page element carrying cookies but naming no page (an older browser, no-referrer) is refused', async () => {
    // Safari before 16.4 and Firefox before 90 send a <script> or <form> request of a page with
    // Referrer-Policy no-referrer with cookies and nothing that names the page: a cross-site
    // page could open a session as the visitor through jsonp and read it.
    const openedBefore = opened;
    const sizeBefore = route.manager.size;
    const cookie = { Cookie: 'koa.sess=visitor' };
    assertRefused(await exchange('GET', `${sessionPath()}/jsonp?c=cb`, cookie), 'jsonp with cookies, no page named');
    assertRefused(await exchange('GET', `${sessionPath()}/htmlfile?c=cb`, cookie), 'htmlfile with cookies, no page named');
    assertRefused(await exchange('POST', `${sessionPath()}/jsonp_send`, { ...cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, 'd=%5B%22x%22%5D'), 'jsonp_send with cookies, no page named');
    assert.equal(opened, openedBefore);
    assert.equal(route.manager.size, sizeBefore);
    // A browser that vouches for the page (Fetch Metadata), or a request without cookies (a
    // program), still opens a session.
    assert.equal((await exchange('GET', `${sessionPath()}/jsonp?c=cb`, { ...cookie, 'Sec-Fetch-Site': 'same-origin' })).body, '/**/cb("o");\r\n');
    assert.equal((await exchange('GET', `${sessionPath()}/jsonp?c=cb`, {})).body, '/**/cb("o");\r\n');
    // Fetches (xhr) always carry Origin across sites: not affected.
    assert.equal((await exchange('POST', `${sessionPath()}/xhr`, cookie)).body, 'o\n');
  });
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('origins by default', () => {
  it("allows only the route's own origin ('self'), and no page may frame the iframe page but its own", async () => {
    const app = new Koa();
    const defaults = sockjs({ prefix: '/s', session: Echo });
    app.use(defaults);
    const own = await listen(app);
    try {
      const self = own.url;
      const post = async (origin: string): Promise<number> => {
        const connection = await RawHttpConnection.open(own.url);
        try {
          return (await connection.request('POST', `/s${sessionPath()}/xhr`, { headers: { Origin: origin } })).status;
        } finally {
          connection.close();
        }
      };
      assert.equal(await post(self), 200);
      assert.equal(await post(`http://localhost:${own.port}`), 403);
      assert.equal(await post('null'), 403);
      const connection = await RawHttpConnection.open(own.url);
      const head = await connection.request('GET', '/s/iframe.html');
      connection.close();
      assert.equal(head.headers['content-security-policy'], "frame-ancestors 'self'");
    } finally {
      await defaults.close();
      await own.close();
    }
  });
});
