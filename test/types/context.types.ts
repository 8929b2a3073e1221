/**
 * Compile-time checks of the public types (run by `npm run typecheck`, part of `npm test`):
 * ctx.sockjs() is typed through Koa's context declaration in user code.
 */
import Koa from 'koa';
import { Session, SessionManager, sockjs } from '../../src/index.js';

class Chat extends Session {
  override onMessage(message: unknown): void {
    this.manager.broadcast(message);
  }
}

const app = new Koa();
app.use(sockjs({ name: 'chat', prefix: '/chat', session: Chat }));
app.use(async (ctx) => {
  const manager: SessionManager = ctx.sockjs('chat');
  manager.broadcast({ any: ['json', 1, true, null] });
  const sessions: Session[] = ctx.sockjs().activeSessions();
  const count: Promise<number> = manager.count();
  void count;
  ctx.body = sessions.length;
  const fromState: SessionManager | undefined = ctx.state.sockjs?.chat;
  void fromState;
  // @ts-expect-error the route name is a string
  ctx.sockjs(42);
  // @ts-expect-error a manager has no such method
  ctx.sockjs('chat').sendEverything();
});

// Rooms: selections keep the route's Session class; join() is awaitable, leave() answers.
const route = sockjs({ name: 'rooms', prefix: '/rooms', session: Chat });
const members: Chat[] = route.manager.to(['a', 'b']).except('c').sessions();
const size: number = route.manager.in('a').size;
void members;
void size;
class Member extends Session {
  override async onOpen(): Promise<void> {
    await this.join('lobby');
    const was: boolean = this.leave('lobby');
    const rooms: ReadonlySet<string> = this.rooms;
    void was;
    void rooms;
    this.manager.except(this).broadcast('hi');
    // @ts-expect-error a room is a string
    void this.join(7);
    // @ts-expect-error rooms cannot be changed from outside
    this.rooms.add('x');
  }
}
void Member;

// ctx.sockjs<S>(name) keeps the route's Session class: activeSessions() and get() return it.
class Player extends Session {
  score = 0;
}
app.use(sockjs({ name: 'game', prefix: '/game', session: Player }));
app.use(async (ctx) => {
  const players: Player[] = ctx.sockjs<Player>('game').activeSessions();
  const scores: number[] = players.map((player) => player.score);
  const one: Player | undefined = ctx.sockjs<Player>('game').get('id');
  void scores;
  void one;
  // Without the type argument (and without a SockjsRoutes declaration) a route is typed Session.
  // @ts-expect-error a Session has no score
  void ctx.sockjs('game').activeSessions()[0]?.score;
  // @ts-expect-error the type argument is a Session class
  ctx.sockjs<string>('game');
});

// A route declared in SockjsRoutes is typed by its name alone, in ctx.sockjs() and ctx.state.
declare module '../../src/index.js' {
  interface SockjsRoutes {
    chat: Chat;
  }
}
app.use(async (ctx) => {
  const chats: Chat[] = ctx.sockjs('chat').activeSessions();
  const fromState: Chat[] | undefined = ctx.state.sockjs?.chat?.activeSessions();
  const other: SessionManager | undefined = ctx.state.sockjs?.['other'];
  void chats;
  void fromState;
  void other;
  // @ts-expect-error a Chat is not a Player
  const wrong: Player[] = ctx.sockjs('chat').activeSessions();
  void wrong;
});

// A manager instance carries its own session class, store and delays: the type refuses them beside it.
const instance = new SessionManager({ name: 'solo', session: Player });
const solo = sockjs({ name: 'solo', manager: instance });
const soloPlayers: Player[] = solo.manager.activeSessions();
void soloPlayers;
// @ts-expect-error session goes to the instance's constructor
sockjs({ name: 'solo', manager: instance, session: Player });
// @ts-expect-error so do the delays
sockjs({ name: 'solo', manager: instance, heartbeatDelay: 1000 });
// A manager class takes them all.
class LoudManager<S extends Session> extends SessionManager<S> {}
sockjs({ manager: LoudManager, session: Player, heartbeatDelay: 1000, closedSessionTtl: 60_000 });
// The array form of transports, and its names.
sockjs({ transports: ['websocket', 'xhr-polling'] });
// @ts-expect-error not a transport of koa-sockjs
sockjs({ transports: ['websocket-raw'] });

// @ts-expect-error unknown options are refused by the type too
sockjs({ prefx: '/typo' });
// @ts-expect-error heartbeatDelay is a number of milliseconds
sockjs({ heartbeatDelay: '25s' });
