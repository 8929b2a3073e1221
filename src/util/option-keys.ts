/**
 * Refusing options nobody reads (issue 13): a misspelt option, or sockjs-node's snake_case name
 * for one, would otherwise be ignored in silence and its default used. TypeScript refuses them
 * in object literals already; this is for JavaScript and for options built at run time.
 */
import { SockjsOptionError } from '../errors.js';

/** The keys an options object may have: a `Record<keyof Options, true>`, so the compiler keeps it complete. */
export type KnownKeys = Readonly<Record<string, true>>;

/**
 * Every option of sockjs-node (0.3's README, and 0.4's `transports`) that has no same-named
 * option here: what to use instead, or why there is none (docs/migrating-from-sockjs-node.md).
 * sockjs-node's `prefix`, `websocket`, `jsessionid` and `transports` have the same names here.
 */
const SOCKJS_NODE_OPTIONS: Readonly<Record<string, string>> = {
  sockjs_url: 'here it is "sockjsUrl"',
  response_limit: 'here it is "responseLimit"',
  heartbeat_delay: 'here it is "heartbeatDelay"',
  disconnect_delay: 'here it is "disconnectDelay"',
  disable_cors: 'here it is "cors: false"',
  log: 'koa-sockjs has none: diagnostics go through debug (DEBUG=koa-sockjs:*), and errors of hooks and stores to "onError" (by default the Koa app\'s \'error\' event)',
  faye_server_options: 'koa-sockjs has none (it uses ws): see "maxMessageSize", "perMessageDeflate" and "pingTimeout"',
  base_url: 'koa-sockjs has none: the route answers under "prefix"',
};

/** Levenshtein distance, for "did you mean": options are short, so the plain table is enough. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** What the user probably meant by an unknown key, as the end of the error message. */
function hintFor(key: string, known: readonly string[], sockjsNode: boolean): string {
  if (sockjsNode && Object.prototype.hasOwnProperty.call(SOCKJS_NODE_OPTIONS, key)) {
    return `: "${key}" is sockjs-node's option; ${SOCKJS_NODE_OPTIONS[key]}`;
  }
  const camel = key.replace(/[_-]+([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
  const lower = key.toLowerCase();
  const near = known.find((k) => k === camel || k.toLowerCase() === lower || k.toLowerCase() === camel.toLowerCase())
    ?? known.find((k) => distance(k.toLowerCase(), lower) <= Math.min(2, Math.floor(k.length / 3)));
  return near ? `: did you mean "${near}"?` : ` (options: ${known.join(', ')})`;
}

/**
 * Throws SockjsOptionError for the first own key of `options` that `known` does not list,
 * naming it (`path` + key, e.g. `limits.maxSession`) with a hint: sockjs-node's name for an
 * option (`sockjsNode`), a near spelling, or the list of options.
 * @param where - What takes the options, for the message: `'sockjs()'`, `'new MemoryStore()'`.
 */
export function rejectUnknownKeys(
  options: object,
  known: KnownKeys,
  where: string,
  { owner = 'koa-sockjs', path = '', sockjsNode = false }: { owner?: string; path?: string; sockjsNode?: boolean } = {},
): void {
  for (const key of Object.keys(options)) {
    if (Object.prototype.hasOwnProperty.call(known, key)) continue;
    throw new SockjsOptionError(`${path}${key}`, `is not an option of ${where}${hintFor(key, Object.keys(known), sockjsNode)}`, owner);
  }
}
