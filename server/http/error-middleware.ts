// How every error is answered: every error becomes a JSON body `{error, message, requestId}` with the right
// status. Operational errors (HttpError, or Koa/router errors marked `expose`) keep their message; anything
// else is logged once with the request id and answered with a bare 500.
import type { Context, Middleware } from 'koa';
import { httpErrorForDb } from './db-errors';
import { HttpError } from './errors';

export type Logger = (line: Record<string, unknown>) => void;

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  501: 'not_implemented',
};

function codeFor(status: number): string {
  return STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'request_error');
}

interface ExposedError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
  headers?: Record<string, string>;
}

/** Every error body ends with the request id, so a client's bug report leads straight to the log lines. */
function errorBody(ctx: Context, fields: Record<string, unknown>): Record<string, unknown> {
  return { ...fields, requestId: ctx.state.requestId };
}

/**
 * After the routes: gives the router's bare 404, 405 and 501 (no route, wrong method, unknown method)
 * their JSON bodies.
 */
export function answerUnrouted(ctx: Context): void {
  // Read once: each ctx.status is two getters, on every request.
  const status = ctx.res.statusCode;
  if (status === 404 && ctx.body == null) {
    ctx.status = 404;
    ctx.body = errorBody(ctx, { error: 'not_found', message: `No route for ${ctx.method} ${ctx.path}.` });
  } else if (status === 501 && ctx.body == null) {
    // The router's answer to a method it knows no route for at all (TRACE, PROPFIND, ...).
    ctx.body = errorBody(ctx, {
      error: 'not_implemented',
      message: `${ctx.method} is not supported by this server.`,
    });
  } else if (status === 405 && ctx.body == null) {
    ctx.status = 405;
    ctx.body = errorBody(ctx, {
      error: 'method_not_allowed',
      message: `${ctx.method} is not allowed on ${ctx.path}; allowed: ${ctx.response.get('Allow') || 'none'}.`,
    });
  }
}

/** Answers what a handler threw (see the top of this file); logs what is not an operational error. */
export function answerThrown(ctx: Context, thrown: unknown, log: Logger): void {
  const raw = httpErrorForDb(thrown) ?? thrown;
  if (raw instanceof HttpError) {
    ctx.status = raw.status;
    ctx.set(raw.headers);
    ctx.body = errorBody(ctx, { error: raw.code, message: raw.message, ...raw.details });
    // A write that may have been applied: logged like a 500, so its request id leads to the cause.
    if (raw.code === 'outcome_unknown') {
      const cause = (thrown as Error).cause;
      log({
        level: 'error',
        msg: 'write outcome unknown',
        requestId: ctx.state.requestId,
        method: ctx.method,
        path: ctx.path,
        error: (thrown as Error).message,
        cause: cause instanceof Error ? cause.message : String(cause),
      });
    }
    return;
  }
  const err = (raw ?? {}) as ExposedError;
  const status = err.status ?? err.statusCode ?? 500;
  if (err.expose && status >= 400 && status < 500) {
    ctx.status = status;
    ctx.body = errorBody(ctx, { error: codeFor(status), message: err.message ?? 'Request error.' });
    return;
  }
  ctx.status = 500;
  ctx.body = errorBody(ctx, { error: 'internal_error', message: 'Internal server error.' });
  log({
    level: 'error',
    msg: 'request failed',
    requestId: ctx.state.requestId,
    method: ctx.method,
    path: ctx.path,
    error: raw instanceof Error ? raw.stack : String(raw),
  });
}

/**
 * The two above as a middleware of their own (in-process tests). The app calls them from its request
 * scope (request-scope.ts), which already wraps every request: one async step fewer per request.
 */
export function errorMiddleware(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      answerUnrouted(ctx);
    } catch (thrown) {
      answerThrown(ctx, thrown, log);
    }
  };
}
