// Per-request figures gathered by code that never sees the Koa context: the pool learns nothing about
// HTTP, so it charges its waits to whatever request is current (AsyncLocalStorage follows the awaits from
// the handler down into DbPool.acquire). Outside a request (start-up checks, unit tests) nothing happens.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  /** Time this request spent waiting for a database connection, summed over its acquires, in ms. */
  poolWaitMs: number;
  /** X-Request-Id, for the exemplars of the query histogram. */
  requestId?: string;
}

const current = new AsyncLocalStorage<RequestContext>();

export function newRequestContext(requestId?: string): RequestContext {
  return { poolWaitMs: 0, requestId };
}

export function runInRequestContext<T>(context: RequestContext, work: () => T): T {
  return current.run(context, work);
}

/**
 * For the request current now: a function that adds the time since `askedAt` (a performance.now()
 * reading) to its pool wait, whenever it is called. Captured up front because the pool may hand a
 * connection to a waiting request from within another request's code (the one releasing it).
 */
export function poolWaitRecorder(): (askedAt: number) => void {
  const context = current.getStore();
  return (askedAt) => {
    if (context) context.poolWaitMs += performance.now() - askedAt;
  };
}

/** The id of the request current now; undefined outside a request (or with ACCESS_LOG=0, see access-log.ts). */
export function currentRequestId(): string | undefined {
  return current.getStore()?.requestId;
}
