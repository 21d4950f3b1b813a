// What every request gets around the routes, in one middleware: its id (request-id.ts), its clientGone
// (client-gone.ts), its JSON error answers (error-middleware.ts), its HTTP metrics
// (metrics/http-metrics.ts), and, when the access log is on, its context for the pool's waits
// (request-context.ts) and its line (access-log.ts). Each is also a middleware of its own (the
// in-process tests compose them); the app uses this one: one start time, one promise and one 'close'
// listener per request instead of one of each per concern, and three links fewer in the Koa chain,
// each a closure, a bind and a promise (or an async function) on every request (issue 16 item 6,
// measured in bench/README.md).
import type { Context, Middleware } from 'koa';
import type { HttpRecorder } from '../metrics/http-metrics';
import { type AccessLogOptions, accessLogWriter } from './access-log';
import { ClientGone } from './client-gone';
import { answerThrown, answerUnrouted, type Logger } from './error-middleware';
import { attachRequestContext, newRequestContext } from './request-context';
import { requestIdOf } from './request-id';

export interface RequestScopeOptions {
  /** Where a request that failed unexpectedly is logged (with its stack). */
  log: Logger;
  /** The access log; undefined turns it off (ACCESS_LOG=0). */
  accessLog?: AccessLogOptions;
  /** The HTTP metrics (httpMetricsRecorder); undefined when recording is off (METRICS=0). */
  metrics?: HttpRecorder;
}

const NO_METRICS: HttpRecorder = { begin: () => undefined, end: () => undefined };

/**
 * Runs the routes (`next`), then answers what they left unanswered or threw, then calls `handled`:
 * whatever happened, the request ends answered, and the metrics and the log see its final status.
 */
function answered(ctx: Context, next: () => Promise<unknown>, log: Logger, handled: () => void): Promise<void> {
  return next().then(
    () => {
      answerUnrouted(ctx);
      handled();
    },
    (thrown: unknown) => {
      try {
        answerThrown(ctx, thrown, log);
      } finally {
        handled();
      }
    },
  );
}

export function requestScopeMiddleware(options: RequestScopeOptions): Middleware {
  const metrics = options.metrics ?? NO_METRICS;
  const { log } = options;
  if (!options.accessLog) {
    return (ctx, next) => {
      const started = performance.now();
      metrics.begin();
      const id = requestIdOf(ctx.req.headers['x-request-id']);
      ctx.state.requestId = id;
      ctx.res.setHeader('X-Request-Id', id);
      // The queries' exemplars name the request even without an access line.
      attachRequestContext(ctx.state, newRequestContext(id));
      ctx.state.clientGone = new ClientGone(ctx.res);
      return answered(ctx, next, log, () => metrics.end(ctx, started));
    };
  }
  const logLine = accessLogWriter(options.accessLog);
  return (ctx, next) => {
    const started = performance.now();
    metrics.begin();
    const id = requestIdOf(ctx.req.headers['x-request-id']);
    ctx.state.requestId = id;
    ctx.res.setHeader('X-Request-Id', id);
    const context = newRequestContext(id);
    attachRequestContext(ctx.state, context);
    // Read now: once the connection has closed the socket may no longer say.
    const remote = ctx.req.socket.remoteAddress;
    let isHandled = false;
    let closed = false;
    // The line is written once the response closed and the handlers are done, whichever comes last;
    // clientGone's own listener has marked a client that left by then, so the line says 499.
    ctx.state.clientGone = new ClientGone(ctx.res, () => {
      closed = true;
      if (isHandled) logLine(ctx, started, context.poolWaitMs, remote);
    });
    return answered(ctx, next, log, () => {
      metrics.end(ctx, started);
      isHandled = true;
      if (closed) logLine(ctx, started, context.poolWaitMs, remote);
    });
  };
}
