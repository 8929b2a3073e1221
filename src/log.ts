/** Logging through `debug`, under `koa-sockjs:*` (enable with DEBUG=koa-sockjs:*). */
import createDebug from 'debug';

export type Logger = (formatter: string, ...args: unknown[]) => void;

export function logger(area: string): Logger {
  return createDebug(`koa-sockjs:${area}`);
}
