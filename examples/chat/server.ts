// The chat from koa-sockjs's README, grown into one to try in a browser: the server knows each
// person's nickname (join, leave and chat lines carry it), channels (rooms: everyone starts in
// #general, `/join name` and `/leave name`), a page with a nickname field, a transport picker
// and channel buttons, and the sockjs-client bundle served locally.
//
//   npm start                      # from the repository root: http://127.0.0.1:8080
//   PORT=3000 npx tsx examples/chat/server.ts
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Koa from 'koa';
import { sockjs, Session } from 'koa-sockjs';

/** Longest nickname, in characters; longer ones are cut. */
const MAX_NICKNAME_LENGTH = 32;

/** The channel every session starts in. */
export const GENERAL = 'general';

/** Channel names: letters, digits, `-` and `_`, up to 32 of them. */
const CHANNEL_NAME = /^[\p{L}\p{N}_-]{1,32}$/u;

/**
 * The nickname the page puts in the SockJS URL (`/chat?name=alice`). sockjs-client keeps the
 * query string on every request it makes, so the opening request carries it whatever the
 * transport.
 */
export function nicknameOf(url: string): string {
  const name = new URL(url, 'http://localhost').searchParams.get('name') ?? '';
  // Control characters and surrounding blanks would only garble the chat lines.
  const clean = name.replace(/[\p{Cc}\p{Cf}]/gu, '').trim().slice(0, MAX_NICKNAME_LENGTH);
  return clean || 'anonymous';
}

class ChatSession extends Session {
  readonly nickname = nicknameOf(this.url);
  /** Where what this person says goes: the channel they joined last. */
  channel: string | undefined = GENERAL;

  override async onOpen() {
    await this.join(GENERAL);
    this.send(`Hello ${this.nickname}`);
    // Everyone but this session, on every process: nobody needs to be told that they joined.
    this.manager.except(this).broadcast(`${this.nickname} joined.`);
  }

  override async onMessage(message: unknown) {
    if (typeof message !== 'string' || !message.trim()) return;
    if (message.startsWith('/')) return this.#command(message);
    if (this.channel === undefined) {
      this.send('You are in no channel: /join one first.');
      return;
    }
    // The server, not the page, puts the name in front: nobody can speak as someone else.
    this.manager.to(this.channel).broadcast(`#${this.channel} ${this.nickname}: ${message}`);
  }

  override onClose() {
    // A closing session receives nothing more: this reaches everyone else.
    this.manager.broadcast(`${this.nickname} left.`);
  }

  /** `/join <channel>` and `/leave <channel>`; anything else starting with `/` gets the list. */
  async #command(line: string) {
    const [verb, ...rest] = line.slice(1).trim().split(/\s+/);
    const name = rest.join(' ');
    if ((verb === 'join' || verb === 'leave') && !CHANNEL_NAME.test(name)) {
      this.send('A channel name is letters, digits, - and _ (at most 32).');
    } else if (verb === 'join') {
      await this.#joinChannel(name);
    } else if (verb === 'leave') {
      this.#leaveChannel(name);
    } else {
      this.send('Commands: /join <channel>, /leave <channel>.');
    }
  }

  async #joinChannel(name: string) {
    this.channel = name;
    if (this.rooms.has(name)) {
      this.send(`You are in #${name}.`);
      return;
    }
    // Resolves once messages to the channel from every process reach this session.
    await this.join(name);
    this.manager.to(name).except(this).broadcast(`${this.nickname} joined #${name}.`);
    this.send(`You joined #${name}.`);
  }

  #leaveChannel(name: string) {
    if (!this.leave(name)) {
      this.send(`You are not in #${name}.`);
      return;
    }
    if (this.channel === name) this.channel = [...this.rooms].at(-1);
    this.manager.to(name).broadcast(`${this.nickname} left #${name}.`);
    this.send(`You left #${name}.${this.channel === undefined ? '' : ` You are in #${this.channel}.`}`);
  }
}

const PAGE_FILE = fileURLToPath(new URL('./public/index.html', import.meta.url));

/**
 * The sockjs-client bundle from node_modules. The page loads it, and so does the iframe page
 * that the iframe-* transports open (the `sockjsUrl` option), so no CDN is involved.
 */
const SOCKJS_CLIENT_FILE = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');

export function createChatApp(): Koa {
  const app = new Koa();

  app.use(async function servePage(ctx, next) {
    if (ctx.method !== 'GET') return next();
    if (ctx.path === '/') {
      ctx.type = 'html';
      ctx.body = await readFile(PAGE_FILE);
    } else if (ctx.path === '/sockjs.min.js') {
      ctx.type = 'application/javascript';
      ctx.body = await readFile(SOCKJS_CLIENT_FILE);
    } else {
      return next();
    }
  });

  app.use(sockjs({ name: 'chat-service', prefix: '/chat', session: ChatSession, sockjsUrl: '/sockjs.min.js' }));

  // Any Koa route can reach the sessions: GET /broadcast?message=hi, or one channel's members
  // with &channel=general.
  app.use(async (ctx, next) => {
    if (ctx.path !== '/broadcast') return next();
    const { message, channel } = ctx.query;
    if (typeof message !== 'string' || !message) ctx.throw(400, 'Say what to send: /broadcast?message=...');
    if (channel !== undefined && (typeof channel !== 'string' || !CHANNEL_NAME.test(channel))) ctx.throw(400, 'channel= takes one channel name');
    const chat = ctx.sockjs('chat-service');
    if (channel === undefined) chat.broadcast(message);
    else chat.to(channel).broadcast(`#${channel} ${message}`);
    ctx.body = 'Message has been sent';
  });

  return app;
}

// Started directly (not imported by a test): listen.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = createChatApp().listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`Chat running at http://${address}:${port}/`);
  });
}
