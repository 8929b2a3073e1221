/**
 * The life of a session at debug level (`DEBUG=koa-sockjs:*`, or `koa-sockjs:session`), one line
 * per step: created (with its transport), opened, receiver attached and detached, closed (with
 * its code), removed. Each line names the route, quoted so the default route shows as `""`,
 * and the session's server id; never a message body. Nothing is formatted unless enabled:
 * attach and detach happen on every poll.
 */
import createDebug from 'debug';
import type { Session } from './session.js';

const debug = createDebug('koa-sockjs:session');

/** Logs one step of `session`'s life; `detail` (a transport, a close code) goes in parentheses. */
export function logLife(session: Session, step: string, detail?: string | number): void {
  if (!debug.enabled) return;
  if (detail === undefined) debug('route %s session %s: %s', JSON.stringify(session.manager.name), session.id, step);
  else debug('route %s session %s: %s (%s)', JSON.stringify(session.manager.name), session.id, step, detail);
}
