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
    const given = ctx.get('X-Request-Id');
    const id = SAFE_ID.test(given) ? given : randomUUID();
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    return next();
  };
}
