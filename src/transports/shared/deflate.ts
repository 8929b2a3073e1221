/**
 * The `perMessageDeflate` option: permessage-deflate (RFC 7692) on websocket connections,
 * negotiated and run by ws. Off by default: each compressing connection keeps a zlib context
 * each way (hundreds of kilobytes with zlib's defaults) and spends CPU on every message, which
 * pays only for large, repetitive messages (README, "Compression"; bench: ws-deflate).
 */
import type { PerMessageDeflateOptions as WsDeflateOptions } from 'ws';
import { DEFAULTS } from '../../defaults.js';
import { SockjsOptionError } from '../../errors.js';
import { rejectUnknownKeys } from '../../util/option-keys.js';
import { describeValue } from '../../util/describe-value.js';

/** The `perMessageDeflate` option of `sockjs()`, when an object: all optional. */
export interface PerMessageDeflateOptions {
  /**
   * Messages smaller than this many bytes go out uncompressed, and each message is compressed
   * on its own (`server_no_context_takeover`: ws applies a threshold only then). 0 compresses
   * every message with the connection's running context, the best ratio for streams of small,
   * similar messages.
   * @default 1024
   */
  threshold?: number | undefined;
  /** zlib's memLevel, 1 (least memory, worse ratio) to 9. @default 8 */
  memLevel?: number | undefined;
  /** zlib's compression level, 0 (none) to 9 (best, slowest). @default 6 */
  level?: number | undefined;
}

/** Resolved settings, or false when compression is off. */
export type DeflateSettings = false | Readonly<Required<PerMessageDeflateOptions>>;

const DEFLATE_DEFAULTS: Readonly<Required<PerMessageDeflateOptions>> = DEFAULTS.perMessageDeflateSettings;
const DEFLATE_KEYS = { threshold: true, memLevel: true, level: true } as const satisfies Record<keyof PerMessageDeflateOptions, true>;

function integerIn(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SockjsOptionError(option, `must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

export function resolveDeflate(option: boolean | PerMessageDeflateOptions | undefined): DeflateSettings {
  if (option === undefined || option === false) return false;
  if (option === true) return DEFLATE_DEFAULTS;
  if (typeof option !== 'object' || option === null) {
    throw new SockjsOptionError('perMessageDeflate', 'must be true, false or { threshold, memLevel, level }');
  }
  rejectUnknownKeys(option, DEFLATE_KEYS, 'perMessageDeflate', { path: 'perMessageDeflate.' });
  return {
    threshold: integerIn('perMessageDeflate.threshold', option.threshold ?? DEFLATE_DEFAULTS.threshold, 0, Number.MAX_SAFE_INTEGER),
    memLevel: integerIn('perMessageDeflate.memLevel', option.memLevel ?? DEFLATE_DEFAULTS.memLevel, 1, 9),
    level: integerIn('perMessageDeflate.level', option.level ?? DEFLATE_DEFAULTS.level, 0, 9),
  };
}

/**
 * ws's perMessageDeflate option for these settings. The return type is inferred (and checked
 * with `satisfies`) rather than named: this module's declarations are public (the
 * `PerMessageDeflateOptions` type), and naming ws's type there would make every TypeScript
 * user of koa-sockjs install @types/ws.
 */
export function wsDeflateOptions(settings: DeflateSettings) {
  if (!settings) return false;
  return {
    threshold: settings.threshold,
    serverNoContextTakeover: settings.threshold > 0,
    zlibDeflateOptions: { memLevel: settings.memLevel, level: settings.level },
  } satisfies WsDeflateOptions;
}
