// What every request gets before the error middleware and the routes, in one middleware: its id
// (request-id.ts), its clientGone (client-gone.ts), and, when the access log is on, its context for the
// pool's waits (request-context.ts) and its line (access-log.ts). Each is also a middleware of its own
// (the in-process tests compose them); the app uses this one: one 'close' listener on the response
// instead of two, and two links fewer in the Koa chain, each a closure, a bind and a promise on every
// request (issue 16 item 6, measured in bench/README.md).
import type { Middleware } from 'koa';
import { type AccessLogOptions, accessLogWriter } from './access-log';
import { ClientGone } from './client-gone';
import { attachRequestContext, newRequestContext } from './request-context';
import { requestIdOf } from './request-id';

export function requestScopeMiddleware(accessLog?: AccessLogOptions): Middleware {
  if (!accessLog) {
    return (ctx, next) => {
      const id = requestIdOf(ctx.req.headers['x-request-id']);
      ctx.state.requestId = id;
      ctx.res.setHeader('X-Request-Id', id);
      // The queries' exemplars name the request even without an access line.
      attachRequestContext(ctx.state, newRequestContext(id));
      ctx.state.clientGone = new ClientGone(ctx.res);
      return next();
    };
  }
  const logLine = accessLogWriter(accessLog);
  return (ctx, next) => {
    const started = performance.now();
    const id = requestIdOf(ctx.req.headers['x-request-id']);
    ctx.state.requestId = id;
    ctx.res.setHeader('X-Request-Id', id);
    const context = newRequestContext(id);
    attachRequestContext(ctx.state, context);
    // Read now: once the connection has closed the socket may no longer say.
    const remote = ctx.req.socket.remoteAddress;
    let handled = false;
    let closed = false;
    // The line is written once the response closed and the handlers are done, whichever comes last;
    // clientGone's own listener has marked a client that left by then, so the line says 499.
    ctx.state.clientGone = new ClientGone(ctx.res, () => {
      closed = true;
      if (handled) logLine(ctx, started, context.poolWaitMs, remote);
    });
    const done = () => {
      handled = true;
      if (closed) logLine(ctx, started, context.poolWaitMs, remote);
    };
    return next().then(done, (error: unknown) => {
      done();
      throw error;
    });
  };
}
