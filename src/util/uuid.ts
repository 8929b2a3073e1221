/** Random ids (UUID v4) as flat strings. */
import { randomUUID } from 'node:crypto';

/**
 * `crypto.randomUUID()`, flattened. Node builds the UUID by concatenating 16 two-digit pieces,
 * so V8 keeps it as a tree of about 16 concatenation nodes (some 500 bytes of heap) for as long
 * as the string lives; a session keeps its id for its whole life. `toLowerCase()` flattens it
 * (the id is lower-case already, so the value is unchanged): 36 bytes of characters instead.
 */
export function flatUUID(): string {
  return randomUUID().toLowerCase();
}
