/**
 * A wrong option's value as an error message shows it. `String(value)` shows a RegExp prefix
 * as sockjs-node users wrote it but an object as "[object Object]", and throws a TypeError for
 * an object without a prototype; `JSON.stringify` shows a RegExp as "{}". This names what
 * was given without ever throwing.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'function') return 'a function';
  if (value instanceof RegExp) return `the regular expression ${String(value)}`;
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}
