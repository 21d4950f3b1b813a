import type { ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import { Cancellation, type CancelSignal } from '../db/cancel-signal';

/**
 * Whether the client closed the connection before the response was written (curl -m, a proxy's
 * timeout, Ctrl-C), and a signal for it (db/cancel-signal.ts) made only when asked: most requests
 * (GET /, /healthz, /metrics) never pass one to the database.
 */
export class ClientGone {
  /** The connection closed before the response had been written out. */
  left = false;
  private controller: Cancellation | undefined;

  /** `afterClose`: runs once the response closed, after `left` is set (the access log's line). */
  constructor(res: ServerResponse, afterClose?: () => void) {
    // on(), not once(): a response closes once, and once() wraps each listener in a closure of its own.
    res.on('close', () => {
      if (!res.writableFinished) {
        this.left = true;
        this.controller?.abort();
      }
      afterClose?.();
    });
  }

  get signal(): CancelSignal {
    if (!this.controller) {
      this.controller = new Cancellation();
      if (this.left) this.controller.abort();
    }
    return this.controller.signal;
  }
}

/**
 * Gives each request `ctx.state.clientGone`: database calls take its signal (clientGone(ctx)) so that a
 * request nobody waits for any more gives up its place in the pool queue.
 */
export function clientGoneMiddleware(): Middleware {
  return (ctx, next) => {
    ctx.state.clientGone = new ClientGone(ctx.res);
    return next();
  };
}

/** The request's clientGone signal (undefined outside clientGoneMiddleware, e.g. in unit tests). */
export function clientGone(ctx: { state: { clientGone?: unknown } }): CancelSignal | undefined {
  return ctx.state.clientGone instanceof ClientGone ? ctx.state.clientGone.signal : undefined;
}

/** Whether the client has left before its answer was written (false outside clientGoneMiddleware). */
export function clientLeft(ctx: { state: { clientGone?: unknown } }): boolean {
  return ctx.state.clientGone instanceof ClientGone && ctx.state.clientGone.left;
}
