/** The shape every SockJS session-URL transport shares: `/<server>/<session>/<path>`. */
import type { Context } from 'koa';
import type { RouteConfig, TransportName } from '../options.js';
import type { RequestInfo } from '../session/request-info.js';

export interface TransportRequest {
  readonly ctx: Context;
  readonly route: RouteConfig;
  /** The client's session id from the URL: the store key, never shown to the application. */
  readonly key: string;
  readonly request: RequestInfo;
}

export interface Transport {
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
  handle(request: TransportRequest): Promise<void>;
}
