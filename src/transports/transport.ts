/**
 * The shape every SockJS transport shares, and what it reads of its route. Session-URL
 * transports answer `/<server>/<session>/<path>`; route-URL ones (the raw websocket) answer
 * `<prefix>/<path>`, with no session in the URL.
 */
import type { Context } from 'koa';
import type { JsessionidOption } from '../http/headers.js';
import type { Gate } from '../security/admission.js';
import type { SessionConnector } from '../session/connector.js';
import type { RequestInfo } from '../session/request-info.js';
import type { TransportName } from './names.js';

/**
 * What the transports read of the route's resolved options. The middleware passes its
 * RouteConfig (options.ts), which has all of it: declared here, the transports need nothing
 * from the layer above them.
 */
export interface TransportRoute {
  /** Largest incoming message, in bytes. */
  readonly maxMessageSize: number;
  /** Bytes a streaming response carries before it is ended. */
  readonly responseLimit: number;
  /** Milliseconds a websocket closed by the server waits for the client before it is cut. */
  readonly websocketCloseTimeout: number;
  /** Whether (or how) a JSESSIONID cookie is set. */
  readonly jsessionid: JsessionidOption;
  /** Whether CORS headers are sent. */
  readonly cors: boolean;
  /** The transports that are on. */
  readonly transports: ReadonlySet<TransportName>;
  /** Who may use the route: the `use`, `identity` and `limits` options. */
  readonly gate: Gate;
  /** The pages that may frame the route's documents (iframe page, htmlfile): a CSP directive. */
  readonly origins: { readonly frameAncestors: string };
}

/** A request to a route-URL transport. */
export interface RouteRequest {
  readonly ctx: Context;
  readonly route: TransportRoute;
  /** The route's session layer: the connection protocol (session/connector.ts). */
  readonly session: SessionConnector;
}

/** A request to a session-URL transport. */
export interface TransportRequest extends RouteRequest {
  /** The client's session id from the URL: the store key, never shown to the application. */
  readonly key: string;
  /** What a session created by this request may know of it (the URL without the session id). */
  readonly request: RequestInfo;
}

interface TransportInfo {
  /** Last URL segment, e.g. `xhr_send`. */
  readonly path: string;
  /** The `transports` switches that enable it (any one suffices). */
  readonly enabledBy: readonly TransportName[];
  /** Methods it answers besides OPTIONS; others get 405 with an Allow header. */
  readonly methods: readonly string[];
  /** Whether it answers CORS preflight (OPTIONS). */
  readonly preflight: boolean;
  /**
   * Requested by an element of the page (a `<script>`, `<iframe>` or `<form>`), not by a script's
   * own request: older browsers (Safari before 16.4, Firefox before 90) may send such a request
   * with no header that names the page, so the origins check cannot tell a cross-site page from
   * no page at all (see OriginPolicy.allows).
   */
  readonly pageElement?: boolean;
}

/** A transport at `/<server>/<session>/<path>` under the route's prefix. */
export interface Transport extends TransportInfo {
  handle(request: TransportRequest): Promise<void>;
}

/** A transport at `<prefix>/<path>`, with no session in its URL (the raw websocket). */
export interface RouteTransport extends TransportInfo {
  handle(request: RouteRequest): Promise<void>;
}
