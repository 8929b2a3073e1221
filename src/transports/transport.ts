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
  handle(request: TransportRequest): Promise<void>;
}
