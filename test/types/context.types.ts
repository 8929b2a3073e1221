/**
 * Compile-time checks of the public types (run by `npm run typecheck`, part of `npm test`):
 * ctx.sockjs() is typed through Koa's context declaration in user code.
 */
import Koa from 'koa';
import { Session, sockjs, type SessionManager } from '../../src/index.js';

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

// @ts-expect-error unknown options are refused by the type too
sockjs({ prefx: '/typo' });
// @ts-expect-error heartbeatDelay is a number of milliseconds
sockjs({ heartbeatDelay: '25s' });
