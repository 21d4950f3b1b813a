import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';

const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Tags each request with an id (the caller's X-Request-Id when it is sane, else a new UUID) for the access
 * log, error log lines and error bodies, and returns it on every response. Sane: 1 to 64 characters that
 * need no escaping anywhere (header, JSON, a shell or grep pattern), enough for UUIDs and trace ids.
 */
export function requestIdMiddleware(): Middleware {
  return (ctx, next) => {
    const id = requestIdOf(ctx.req.headers['x-request-id']);
    ctx.state.requestId = id;
    ctx.res.setHeader('X-Request-Id', id);
    return next();
  };
}

/** The id for a request whose X-Request-Id header is `given` (Node joins repeated ones with ", "). */
export function requestIdOf(given: string | string[] | undefined): string {
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
}
