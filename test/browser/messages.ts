// What the browser tests send: every kind of string a SockJS server has to get through its
// framing and escaping intact, on every transport.

/** Every C0 control character, DEL and the C1 controls. */
const CONTROL_CHARACTERS =
  Array.from({ length: 0x20 }, (_, code) => String.fromCharCode(code)).join('') +
  '\u007f' +
  Array.from({ length: 0x20 }, (_, code) => String.fromCharCode(0x80 + code)).join('');

/** `pattern` repeated to `size` UTF-16 code units (one less rather than split a surrogate pair). */
function repeatTo(pattern: string, size: number): string {
  const text = pattern.repeat(Math.ceil(size / pattern.length)).slice(0, size);
  return /[\ud800-\udbff]$/.test(text) ? text.slice(0, -1) : text;
}

export const KIB = 1024;

export const SMALL_MESSAGES: readonly string[] = [
  'hello',
  '',
  ' ',
  'The quick brown fox jumps over the lazy dog 0123456789 ~!@#$%^&*()_+`-={}|[]\\:";\'<>?,./',
  'Zażółć gęślą jaźń · Привет, мир · こんにちは世界 · 你好 · مرحبا · שלום',
  '😀 👍🏽 👨‍👩‍👧‍👦 🇺🇦 𝄞 🏳️‍🌈',
  '\u2028',
  '\u2029',
  'line\u2028separator\u2029paragraph',
  CONTROL_CHARACTERS,
  '\u0000',
  'nul\u0000in the middle',
  '\r\n\r\n',
  'data: looks like an event\n\nid: 1\n\n',
  '\ufeff byte order mark, \u200b zero width space, \u200e\u200f marks',
  '\ufff0\ufff9\ufffc\ufffd\ufffe\uffff',
  '\ud7ff\ue000\uf8ff',
  '{"a":1,"b":[true,false,null]}',
  '[1,2,3]',
  '"quoted"',
  'null',
  'true',
  '123',
  'o',
  'h',
  'a',
  'a["looks like a frame"]',
  'c[3000,"Go away!"]',
  'a[',
  ']',
  '\\',
  '\\u0000 \\n \\" \\\\',
  '</script><script>window.__hacked = true</script>',
  '<!-- <script> ]]> &amp; &lt;',
  '</SCRIPT >',
  "'); window.__hacked = true; ('",
  '"); window.__hacked = true; ("',
];

/** A 64 KiB message (65,536 ASCII characters). */
export const MESSAGE_64_KIB = repeatTo('abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\n', 64 * KIB);

/** Echoing these takes well over twice the default `responseLimit` (128 KiB). */
export const LARGE_MESSAGES: readonly string[] = [
  MESSAGE_64_KIB,
  repeatTo('zażółć 😀 \u2028\u2029 </script> \u0001\u001f "\\ \ufff0 ', 64 * KIB),
  ...[1, 2, 3].map((n) => repeatTo(`fill ${n}: ${'-'.repeat(59)}\n`, 64 * KIB)),
];

/** Sent in one go: more than twice the default `responseLimit` once echoed. */
export const BURST: readonly string[] = [...SMALL_MESSAGES, ...LARGE_MESSAGES];

/** Sent once the burst has been echoed. */
export const LAST_MESSAGE = 'last, after the burst';

/** A short, escaped view of a string, for assertion messages about 64 KiB strings. */
export function preview(value: unknown): string {
  if (typeof value !== 'string') return `<${typeof value}> ${String(value)}`;
  const shown = JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
  return `${shown} (length ${value.length})`;
}

/**
 * Why `received` is not exactly `sent`, in order, or `undefined` when it is. Says which message
 * went wrong rather than dumping half a megabyte of diff.
 */
export function describeMismatch(sent: readonly string[], received: readonly unknown[]): string | undefined {
  for (let index = 0; index < Math.max(sent.length, received.length); index++) {
    if (received[index] === sent[index]) continue;
    if (index >= received.length) {
      return `received ${received.length} of ${sent.length} messages; first missing #${index}: ${preview(sent[index])}`;
    }
    if (index >= sent.length) return `received ${received.length} messages, ${sent.length} sent; extra #${index}: ${preview(received[index])}`;
    const elsewhere = sent.indexOf(received[index] as string);
    return (
      `message #${index} differs: sent ${preview(sent[index])}, received ${preview(received[index])}` +
      (elsewhere === -1 ? '' : ` (which is message #${elsewhere}: out of order)`)
    );
  }
  return undefined;
}
