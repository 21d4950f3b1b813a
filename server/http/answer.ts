// A route's answer as a value (status, headers, JSON body) instead of writes to ctx, so a write guarded by
// an Idempotency-Key can store it in its transaction and a retry can be given exactly the same answer.
import type { Context } from 'koa';
import { HttpError } from './errors';

export interface Answer {
  status: number;
  /** Only the headers that belong to the answer itself (Location, ETag); not X-Request-Id and the like. */
  headers: Record<string, string>;
  /** The JSON body; undefined for none (204). */
  body?: unknown;
}

/** An HttpError as an answer: the JSON error body without the requestId, which belongs to each request. */
export function errorAnswer(error: HttpError): Answer {
  return {
    status: error.status,
    headers: { ...error.headers },
    body: { error: error.code, message: error.message, ...error.details },
  };
}

/**
 * Sends `answer`. An error answer is thrown as an HttpError, so the error middleware writes it like any
 * other error (with this request's requestId).
 */
export function respond(ctx: Context, answer: Answer, extraHeaders: Record<string, string> = {}): void {
  const headers = { ...answer.headers, ...extraHeaders };
  if (answer.status >= 400) {
    const { error, message, ...details } = (answer.body ?? {}) as { error?: string; message?: string };
    throw new HttpError(answer.status, error ?? 'request_error', message ?? '', headers, details);
  }
  ctx.status = answer.status;
  ctx.set(headers);
  if (answer.body !== undefined) ctx.body = answer.body;
}
