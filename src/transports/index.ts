/** The transports of one route: the transport table. */
import type { WebSocketServer } from 'ws';
import { eventsource } from './eventsource.js';
import { htmlfile } from './htmlfile.js';
import { jsonpPolling } from './jsonp-polling.js';
import { jsonpSend } from './jsonp-send.js';
import { rawWebsocket } from './raw-websocket.js';
import type { RouteTransport, Transport, TransportRoute } from './transport.js';
import { websocketTransport } from './websocket.js';
import { xhrPolling } from './xhr-polling.js';
import { xhrSend } from './xhr-send.js';
import { xhrStreaming } from './xhr-streaming.js';

export interface TransportTable {
  /** Transports at `/<server>/<session>/<path>`, by path. */
  readonly sessionUrls: ReadonlyMap<string, Transport>;
  /** Transports at `<prefix>/<path>` (the raw websocket), by path. */
  readonly routeUrls: ReadonlyMap<string, RouteTransport>;
}

/** Every transport, enabled or not (a disabled one answers 404). */
export function transportTable(wss: WebSocketServer): TransportTable {
  const sessionUrls: Transport[] = [websocketTransport(wss), xhrPolling, xhrSend, xhrStreaming, eventsource, htmlfile, jsonpPolling, jsonpSend];
  const routeUrls: RouteTransport[] = [rawWebsocket(wss)];
  return {
    sessionUrls: new Map(sessionUrls.map((transport) => [transport.path, transport])),
    routeUrls: new Map(routeUrls.map((transport) => [transport.path, transport])),
  };
}

export function isEnabled(transport: Transport | RouteTransport, route: TransportRoute): boolean {
  return transport.enabledBy.some((name) => route.transports.has(name));
}
