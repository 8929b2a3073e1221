/** A websocket handshake on a raw connection, to check the exact response headers. */
import { RawHttpConnection, type ResponseHead } from './helpers.js';

export async function rawUpgrade(url: string, headers: Record<string, string>): Promise<{ connection: RawHttpConnection; head: ResponseHead }> {
  const parsed = new URL(url);
  const connection = await RawHttpConnection.open(url);
  const head = await connection.request('GET', parsed.pathname, { headers });
  return { connection, head };
}
