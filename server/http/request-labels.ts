// How a request is named wherever it is counted (HTTP metrics) or logged (access log), so the two always
// agree: its route template, never the raw URL (a scan of random paths cannot create new series or log
// noise that looks like routes), and the status it was answered with.
import type { Context } from 'koa';
import { clientGone } from './client-gone';

/** nginx's "client closed request": the client left before the response was written. */
export const CLIENT_CLOSED_REQUEST = 499;

/** The matched route template (`/todos/:id`), or `unmatched` when no route matched. */
export function routeLabel(ctx: Context): string {
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof matched === 'string' ? matched : 'unmatched';
}

/**
 * ctx.status, except 499 once the client has gone away: a query whose client left while it ran still
 * ends in a 200 nobody receives, and counting that as a success would hide the abandonment.
 */
export function answeredStatus(ctx: Context): number {
  return clientGone(ctx)?.aborted ? CLIENT_CLOSED_REQUEST : ctx.status;
}
