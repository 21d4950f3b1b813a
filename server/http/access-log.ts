// The access log: one line per request (access-log-line.ts), written once the response has finished or
// the client has gone away, whichever comes last after the handlers are done, so the status and the
// bytes are the ones the client got. Also opens the request's context, where the pool adds its waits.
// Health checks that pass (/healthz, /readyz: the front door polls every worker each second) write no
// line; http_health_checks_total counts them. A failing one is logged like any other request.
import type { ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import { isoNow } from '../log/clock';
import { accessLogLine } from './access-log-line';
import { newRequestContext, runInRequestContext } from './request-context';
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
 * Must run after clientGoneMiddleware: its 'close' listener then marks the client gone before this one
 * logs, so a client that left is logged 499 exactly as the metrics count it.
 */
export function accessLogMiddleware(options: AccessLogOptions): Middleware {
  const write = options.write ?? writeToStdout;
  const { worker } = options;
  return (ctx, next) => {
    const started = performance.now();
    const context = newRequestContext(String(ctx.state.requestId));
    // Read now: once the connection has closed the socket may no longer say.
    const remote = ctx.req.socket.remoteAddress;
    let handled = false;
    let closed = false;
    const logOnceBothDone = () => {
      if (!handled || !closed) return;
      const route = routeLabel(ctx);
      const status = answeredStatus(ctx);
      if (status < 400 && isHealthCheck(route)) return;
      write(
        accessLogLine({
          time: isoNow(),
          worker,
          requestId: String(ctx.state.requestId),
          method: ctx.method,
          route,
          status,
          durationMs: performance.now() - started,
          poolWaitMs: context.poolWaitMs,
          bytes: bodyBytesSent(ctx.res, ctx.method),
          remote,
        }),
      );
    };
    // 'close' comes after 'finish' for a completed response, and alone when the connection went first.
    ctx.res.once('close', () => {
      closed = true;
      logOnceBothDone();
    });
    const done = () => {
      handled = true;
      logOnceBothDone();
    };
    return runInRequestContext(context, next).then(done, (error: unknown) => {
      done();
      throw error;
    });
  };
}
