// A token in the SockJS URL's query string: the page asks the app for a short-lived signed
// token, then connects to `/chat?token=...`. sockjs-client carries the query string to every
// request of every transport (/info, websocket, xhr, xhr_send, eventsource, jsonp, ...), so the
// SockJS route authorizes the session-creating request with `use`, and binds every later
// request to the same user with `identity`. No cookies at all: it works across sites, with
// third-party cookies blocked, and from programs.
//
//   npx tsx examples/token-auth/server.ts      # http://127.0.0.1:8084 (PORT to change it)
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Koa from 'koa';
import { Session, sockjs, type OriginRule, type SockjsMiddleware } from 'koa-sockjs';

/** How long a token may open sessions: it sits in URLs, so it must not live long. */
export const TOKEN_TTL_MS = 5 * 60 * 1000;

/** Signs and checks `<name>.<expires>.<signature>` tokens (HMAC-SHA256). */
export class Tokens {
  readonly #key: Buffer;

  constructor(key: Buffer = randomBytes(32), readonly now: () => number = Date.now) {
    this.#key = key;
  }

  issue(name: string, ttlMs = TOKEN_TTL_MS): string {
    const payload = `${Buffer.from(name).toString('base64url')}.${this.now() + ttlMs}`;
    return `${payload}.${this.#sign(payload)}`;
  }

  /**
   * The name in a well-signed token; undefined for anything else. `checkExpiry: false` still
   * checks the signature: a session opened with a token stays its user's after the token expires.
   */
  verify(token: unknown, checkExpiry = true): string | undefined {
    if (typeof token !== 'string') return undefined;
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [name, expires, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.#sign(`${name}.${expires}`));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (checkExpiry && !(Number(expires) > this.now())) return undefined;
    return Buffer.from(name, 'base64url').toString('utf8');
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}

class ChatSession extends Session<{ user: string }> {
  override onOpen() {
    this.send({ type: 'welcome', name: this.data.user });
  }

  override onMessage(message: unknown) {
    this.manager.broadcast({ type: 'line', from: this.data.user, text: String(message) });
  }
}

const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url));
const SOCKJS_CLIENT_FILE = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: `${PUBLIC}index.html`, type: 'html' },
  '/app.js': { file: `${PUBLIC}app.js`, type: 'application/javascript' },
  '/sockjs.min.js': { file: SOCKJS_CLIENT_FILE, type: 'application/javascript' },
};

export interface TokenAuthApp {
  app: Koa;
  chat: SockjsMiddleware<ChatSession>;
  tokens: Tokens;
}

/** `origins`: pages on other origins that may connect (the page of this app always may). */
export function createTokenAuthApp(options: { tokens?: Tokens; origins?: OriginRule[] } = {}): TokenAuthApp {
  const tokens = options.tokens ?? new Tokens();
  const app = new Koa();
  const chat = sockjs({
    name: 'chat',
    prefix: '/chat',
    session: ChatSession,
    sockjsUrl: '/sockjs.min.js',
    origins: options.origins ?? [],
    use: [
      async function requireToken(ctx, next) {
        const user = tokens.verify(ctx.query['token']);
        if (user === undefined) ctx.throw(401, 'A valid token is needed: POST /token first.');
        ctx.state['user'] = user;
        await next();
      },
    ],
    // The token's signed name, expired or not: the session's later requests carry the token
    // it was opened with.
    identity: (ctx) => tokens.verify(ctx.query['token'], false),
  });
  app.use(chat);
  app.use(async function routes(ctx, next) {
    if (ctx.method === 'POST' && ctx.path === '/token') {
      // A real application issues tokens to people it has authenticated (its login, its
      // session cookie, OAuth); this example takes any name.
      const name = (ctx.query['name'] as string | undefined)?.trim() ?? '';
      if (!/^[\w .-]{1,32}$/.test(name)) ctx.throw(400, 'A name of 1 to 32 letters, digits, spaces, ".", "-" or "_".');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { token: tokens.issue(name) };
      return;
    }
    const entry = ctx.method === 'GET' ? FILES[ctx.path] : undefined;
    if (!entry) return next();
    ctx.type = entry.type;
    ctx.body = await readFile(entry.file);
  });
  return { app, chat, tokens };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = createTokenAuthApp().app.listen(Number(process.env['PORT'] ?? 8084), process.env['HOST'] ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`Token-auth chat running at http://${address}:${port}/`);
  });
}
