/**
 * What a body parser mounted before sockjs() (koa-body, @koa/bodyparser, koa-bodyparser, ...)
 * left of a body it read. The stream is spent by then, so the payload must come from what the
 * parser kept, and only where that gives back the client's text exactly: the raw text
 * (`ctx.request.rawBody`, which @koa/bodyparser and koa-bodyparser always keep, koa-body with
 * `includeUnparsed: true`), a body parsed as text, or one field of a parsed form. A parsed
 * JSON body is not enough: parsers transform it (co-body refuses `__proto__` keys, turns an
 * empty body into `{}`, may run a reviver), so the messages could differ from what was sent.
 */
import type { Context } from 'koa';

/** A body parser read the body and kept nothing the payload can be recovered from exactly. */
export class BodyConsumedError extends Error {
  readonly code = 'SOCKJS_ERR_BODY_CONSUMED';
  constructor() {
    super(
      'koa-sockjs: a body parser mounted before sockjs() already read this request body and kept neither its raw text ' +
        '(ctx.request.rawBody) nor a text body, so the messages cannot be recovered exactly. ' +
        'Mount sockjs() before the body parser (recommended), or make the parser keep the raw body (koa-body: includeUnparsed: true).',
    );
    this.name = 'BodyConsumedError';
  }
}

/** The whole body's text, or just the payload field of a form (jsonp_send's `d`). */
export type RecoveredBody = { readonly body: string } | { readonly field: string };

interface ParsedRequest {
  rawBody?: unknown;
  body?: unknown;
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/**
 * Recovers the payload of a body a parser already read. `formField` names the payload field of
 * a form-encoded body (jsonp_send). Throws BodyConsumedError when it cannot be done exactly.
 */
export function recoverParsedBody(ctx: Context, formField?: string): RecoveredBody {
  const request = ctx.request as ParsedRequest;
  const raw = asText(request.rawBody) ?? asText((ctx.req as ParsedRequest).rawBody) ?? asText(request.body);
  if (raw !== undefined) return { body: raw };
  const parsed = request.body;
  if (formField !== undefined && parsed !== null && typeof parsed === 'object' && ctx.request.is('application/x-www-form-urlencoded')) {
    const value = (parsed as Record<string, unknown>)[formField];
    // A form without the field is the protocol's "Payload expected.", as if we had read it.
    if (value === undefined) return { field: '' };
    if (typeof value === 'string') return { field: value };
  }
  throw new BodyConsumedError();
}
