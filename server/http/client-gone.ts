import type { Middleware } from 'koa';

/**
 * Gives each request `ctx.state.clientGone`, an AbortSignal that fires when the client closes the
 * connection before the response is written (curl -m, a proxy's timeout, Ctrl-C). Database calls take
 * it so that a request nobody waits for any more gives up its place in the pool queue.
 */
export function clientGoneMiddleware(): Middleware {
  return async (ctx, next) => {
    const controller = new AbortController();
    const onClose = () => {
      if (!ctx.res.writableFinished) controller.abort();
    };
    ctx.res.once('close', onClose);
    ctx.state.clientGone = controller.signal;
    await next();
  };
}

/** The request's clientGone signal (undefined outside clientGoneMiddleware, e.g. in unit tests). */
export function clientGone(ctx: { state: { clientGone?: unknown } }): AbortSignal | undefined {
  return ctx.state.clientGone instanceof AbortSignal ? ctx.state.clientGone : undefined;
}
