/** The names of the transports the `transports` option switches, in the transport layer that owns them. */

/** Transports that can be switched off with the `transports` option. */
export const TRANSPORT_NAMES = ['websocket', 'xhr-polling', 'xhr-streaming', 'eventsource', 'htmlfile', 'jsonp-polling'] as const;
/** A key of the `transports` option: one of {@link TRANSPORT_NAMES}. */
export type TransportName = (typeof TRANSPORT_NAMES)[number];
