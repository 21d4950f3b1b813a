// The access log: one line per request (access-log-line.ts), written once the response has finished or
// the client has gone away, whichever comes last after the handlers are done, so the status and the
// bytes are the ones the client got. Also opens the request's context, where the pool adds its waits
// (request-context.ts).
// Health checks that pass (/healthz, /readyz: the front door polls every worker each second) write no
// line; http_health_checks_total counts them. A failing one is logged like any other request.
import type { ServerResponse } from 'node:http';
import type { Context, Middleware } from 'koa';
import { isoNow } from '../log/clock';
import { accessLogLine } from './access-log-line';
import { attachRequestContext, newRequestContext } from './request-context';
import { answeredStatus, isHealthCheck, routeLabel } from './request-labels';

export interface AccessLogOptions {
  /** The pm2 app name, as in the metrics' `worker` label. */
  worker: string;
  /** Where lines go: the worker's log (server/log/); stdout unless given. */
  write?: (line: string) => void;
}

const BODYLESS_STATUSES = new Set([204, 304]);

/**
 * Body bytes sent: the Content-Length Koa set (it does for every string, Buffer and JSON body) once the
 * response finished; 0 when not even the headers went out (the client left first); null when unknown
 * (cut off midway, or a stream without Content-Length).
 */
function bodyBytesSent(res: ServerResponse, method: string): number | null {
  if (!res.headersSent) return 0;
  if (!res.writableFinished) return null;
  if (method === 'HEAD' || BODYLESS_STATUSES.has(res.statusCode)) return 0;
  const length = res.getHeader('content-length');
  return length === undefined ? null : Number(length);
}

function writeToStdout(line: string): void {
  process.stdout.write(line);
}

/**
 * Writes one request's line, unless it is a passing health check: the route and status as the metrics
 * name them (request-labels.ts), the bytes the client got. For requestScopeMiddleware and the one below.
 */
export function accessLogWriter(
  options: AccessLogOptions,
): (ctx: Context, started: number, poolWaitMs: number, remote: string | undefined) => void {
  const write = options.write ?? writeToStdout;
  const { worker } = options;
  return (ctx, started, poolWaitMs, remote) => {
    const route = routeLabel(ctx);
    const status = answeredStatus(ctx);
    if (status < 400 && isHealthCheck(route)) return;
    const method = ctx.req.method ?? '';
    write(
      accessLogLine({
        time: isoNow(),
        worker,
        requestId: String(ctx.state.requestId),
        method,
        route,
        status,
        durationMs: performance.now() - started,
        poolWaitMs,
        bytes: bodyBytesSent(ctx.res, method),
        remote,
      }),
    );
  };
}

/**
 * Must run after clientGoneMiddleware: its 'close' listener then marks the client gone before this one
 * logs, so a client that left is logged 499 exactly as the metrics count it. (The app itself uses
 * requestScopeMiddleware, which does both with one listener.)
 */
export function accessLogMiddleware(options: AccessLogOptions): Middleware {
  const logLine = accessLogWriter(options);
  return (ctx, next) => {
    const started = performance.now();
    const context = newRequestContext(String(ctx.state.requestId));
    attachRequestContext(ctx.state, context);
    // Read now: once the connection has closed the socket may no longer say.
    const remote = ctx.req.socket.remoteAddress;
    let handled = false;
    let closed = false;
    // 'close' comes after 'finish' for a completed response, and alone when the connection went first.
    ctx.res.once('close', () => {
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
