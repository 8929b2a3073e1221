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

// @ts-expect-error unknown options are refused by the type too
sockjs({ prefx: '/typo' });
// @ts-expect-error heartbeatDelay is a number of milliseconds
sockjs({ heartbeatDelay: '25s' });
