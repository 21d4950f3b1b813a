// How a request is named wherever it is counted (HTTP metrics) or logged (access log), so the two always
// agree: its route template, never the raw URL (a scan of random paths cannot create new series or log
// noise that looks like routes), and the status it was answered with.
import type { Context } from 'koa';
import { clientLeft } from './client-gone';

/** nginx's "client closed request": the client left before the response was written. */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * The routes load balancers and orchestrators poll (the front door asks each worker's /readyz every
 * second): answered ones are counted (http_health_checks_total), not written to the access log.
 */
const HEALTH_CHECK_ROUTES = new Set(['/healthz', '/readyz']);

export function isHealthCheck(route: string): boolean {
  return HEALTH_CHECK_ROUTES.has(route);
}

/** What @koa/router leaves on the context: the template it ran, and every layer whose path matched. */
interface RoutedContext {
  _matchedRoute?: unknown;
  matched?: { path: unknown; methods: string[] }[];
}

/**
 * The matched route template (`/todos/:id`), or `unmatched` when no route's path matched. A known path
 * asked with a method it does not take (405, or 501 for a method no route takes) keeps its template.
 */
export function routeLabel(ctx: Context): string {
  const routed = ctx as RoutedContext;
  if (typeof routed._matchedRoute === 'string') return routed._matchedRoute;
  // No route ran, but the path matched routes of other methods (the router's allowedMethods answers
  // 405/501 from these): the last one with methods, as @koa/router itself picks _matchedRoute.
  const routes = (routed.matched ?? []).filter((layer) => layer.methods.length > 0);
  const route = routes[routes.length - 1];
  return typeof route?.path === 'string' ? route.path : 'unmatched';
}

/**
 * ctx.status, except 499 once the client has gone away: a query whose client left while it ran still
 * ends in a 200 nobody receives, and counting that as a success would hide the abandonment.
 */
export function answeredStatus(ctx: Context): number {
  // res.statusCode is what ctx.status reads, without its two getters (every request asks twice).
  return clientLeft(ctx) ? CLIENT_CLOSED_REQUEST : ctx.res.statusCode;
}
