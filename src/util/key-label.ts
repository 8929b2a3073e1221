/**
 * How logs and error contexts name a session's store key without exposing it. The key of an
 * HTTP session is the client's session id from its URL, and whoever knows it can send and
 * receive on the session, so it never appears in text an application might log or show. The
 * label is an HMAC of the key under a secret made when the process starts: one key always gets
 * the same label within the process (errors about one session can be matched up), and a label
 * cannot be turned back into its key, not even by trying every id sockjs-client could make.
 */
import { createHmac, randomBytes } from 'node:crypto';

const SECRET = randomBytes(32);

/** `key#` and 12 hex digits, the same for the same key within this process. */
export function keyLabel(key: string): string {
  return `key#${createHmac('sha256', SECRET).update(key).digest('hex').slice(0, 12)}`;
}
