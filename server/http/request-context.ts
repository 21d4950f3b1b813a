// The request's figures that code below HTTP adds to: the pool's waits (server/db/request-waits.ts).
// Created by the access log (request-scope.ts) and kept on ctx.state; a route names its request around
// each call that starts database work (dbWork), so the pool charges that request.
import type { RequestWaits } from '../db/request-waits';
import { chargeWaitsTo } from '../db/request-waits';

export type RequestContext = RequestWaits;

export function newRequestContext(requestId?: string): RequestContext {
  return { poolWaitMs: 0, requestId };
}

/** Keeps `context` on the request, for dbWork(). */
export function attachRequestContext(state: { requestContext?: unknown }, context: RequestContext): void {
  state.requestContext = context;
}

/**
 * Runs `work`, a call that starts database work (a repository or store method), with its pool waits
 * charged to the request of `ctx` (nothing when the access log is off: nobody reads them).
 */
export function dbWork<T>(ctx: { state: { requestContext?: unknown } }, work: () => T): T {
  return chargeWaitsTo(ctx.state.requestContext as RequestContext | undefined, work);
}
