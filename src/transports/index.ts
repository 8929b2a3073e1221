/** The transports of one route, by the last segment of their session URL. */
import type { WebSocketServer } from 'ws';
import type { RouteConfig } from '../options.js';
import { eventsource } from './eventsource.js';
import { htmlfile } from './htmlfile.js';
import { jsonpPolling } from './jsonp-polling.js';
import { jsonpSend } from './jsonp-send.js';
import type { Transport } from './transport.js';
import { websocketTransport } from './websocket.js';
import { xhrPolling } from './xhr-polling.js';
import { xhrSend } from './xhr-send.js';
import { xhrStreaming } from './xhr-streaming.js';

/** Every session-URL transport, enabled or not (a disabled one answers 404). */
export function transportTable(wss: WebSocketServer): ReadonlyMap<string, Transport> {
  const all: Transport[] = [websocketTransport(wss), xhrPolling, xhrSend, xhrStreaming, eventsource, htmlfile, jsonpPolling, jsonpSend];
  return new Map(all.map((transport) => [transport.path, transport]));
}

export function isEnabled(transport: Transport, route: RouteConfig): boolean {
  return transport.enabledBy.some((name) => route.transports.has(name));
}
