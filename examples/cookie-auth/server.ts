// Cookie authentication with a real session middleware (koa-session): people log in with a
// form, and only logged-in people may open a SockJS session. The SockJS route authorizes with
// `use`, binds each session to the logged-in user with `identity`, knows who connected from
// `session.data`, and never sees the cookie itself.
//
//   npx tsx examples/cookie-auth/server.ts      # http://127.0.0.1:8087 (PORT to change it)
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Koa from 'koa';
import helmet from 'koa-helmet';
import session from 'koa-session';
import { Session, sockjs, type SockjsMiddleware } from 'koa-sockjs';

interface User {
  id: string;
  name: string;
}

/** What the route's `use` middleware leaves on ctx.state, typed for `this.data`. */
interface ChatState {
  user: User;
}

class ChatSession extends Session<ChatState> {
  override onOpen() {
    this.send({ type: 'welcome', name: this.data.user.name });
  }

  override onMessage(message: unknown) {
    this.manager.broadcast({ type: 'line', from: this.data.user.name, text: String(message) });
  }
}

/** The logged-in user of a request: what koa-session read from the signed cookie. */
function userOf(ctx: Koa.Context): User | undefined {
  const user = ctx.session?.['user'] as User | undefined;
  return user && typeof user.id === 'string' ? user : undefined;
}

/** The SockJS route's authorization: runs before any session exists, on every transport. */
async function requireLogin(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  const user = userOf(ctx);
  if (!user) ctx.throw(401, 'Log in first.');
  ctx.state['user'] = user;
  await next();
}

const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url));
const SOCKJS_CLIENT_FILE = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: `${PUBLIC}index.html`, type: 'html' },
  '/app.js': { file: `${PUBLIC}app.js`, type: 'application/javascript' },
  '/sockjs.min.js': { file: SOCKJS_CLIENT_FILE, type: 'application/javascript' },
};

export interface CookieAuthApp {
  app: Koa;
  chat: SockjsMiddleware<ChatSession>;
}

export function createCookieAuthApp(options: { keys?: string[] } = {}): CookieAuthApp {
  const app = new Koa();
  // Signs the session cookie; a real deployment reads its keys from the environment.
  app.keys = options.keys ?? [process.env['SESSION_KEY'] ?? randomBytes(32).toString('hex')];
  // Before the SockJS route, so `use` and `identity` can read ctx.session.
  app.use(session({ key: 'chat.sess', httpOnly: true, sameSite: 'lax', maxAge: 24 * 60 * 60 * 1000 }, app));

  const chat = sockjs({
    name: 'chat',
    prefix: '/chat',
    session: ChatSession,
    sockjsUrl: '/sockjs.min.js',
    // The page is served by this app: its own origin is always allowed, no other is listed.
    use: [requireLogin],
    // Polls, sends and streams of a session must come from the user who opened it; after a
    // logout they get 404 (and the client's reconnect gets 401).
    identity: (ctx) => userOf(ctx)?.id,
  });
  // The SockJS route before helmet: its answers carry the headers the protocol needs, and the
  // iframe page its own Content-Security-Policy (helmet's would block its inline script and
  // its framing). Everything else the app serves gets helmet's headers.
  app.use(chat);
  app.use(helmet());

  app.use(async function routes(ctx, next) {
    if (ctx.method === 'POST' && ctx.path === '/login') {
      const name = new URLSearchParams(await readText(ctx)).get('name')?.trim() ?? '';
      if (!/^[\w .-]{1,32}$/.test(name)) ctx.throw(400, 'A name of 1 to 32 letters, digits, spaces, ".", "-" or "_".');
      ctx.session!['user'] = { id: randomBytes(8).toString('hex'), name } satisfies User;
      ctx.redirect('/');
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/logout') {
      ctx.session = null;
      ctx.redirect('/');
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/me') {
      ctx.body = { user: userOf(ctx) ?? null };
      return;
    }
    const entry = ctx.method === 'GET' ? FILES[ctx.path] : undefined;
    if (!entry) return next();
    ctx.type = entry.type;
    ctx.body = await readFile(entry.file);
  });
  return { app, chat };
}

/** A small form body (the login form), read without a body-parser. */
async function readText(ctx: Koa.Context): Promise<string> {
  let text = '';
  for await (const chunk of ctx.req) {
    text += String(chunk);
    if (text.length > 4096) ctx.throw(413);
  }
  return text;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = createCookieAuthApp().app.listen(Number(process.env['PORT'] ?? 8087), process.env['HOST'] ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`Cookie-auth chat running at http://${address}:${port}/`);
  });
}
