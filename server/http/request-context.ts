// Per-request figures gathered by code that never sees the Koa context: the pool learns nothing about
// HTTP, so it charges its waits to whatever request is current (AsyncLocalStorage follows the awaits from
// the handler down into DbPool.acquire). Outside a request (start-up checks, unit tests) nothing happens.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  /** Time this request spent waiting for a database connection, summed over its acquires, in ms. */
  poolWaitMs: number;
}

const current = new AsyncLocalStorage<RequestContext>();

export function newRequestContext(): RequestContext {
  return { poolWaitMs: 0 };
}

export function runInRequestContext<T>(context: RequestContext, work: () => T): T {
  return current.run(context, work);
}

/** Adds the time since `askedAt` (a performance.now() reading) to the current request's pool wait. */
export function addPoolWaitSince(askedAt: number): void {
  const context = current.getStore();
  if (context) context.poolWaitMs += performance.now() - askedAt;
}
