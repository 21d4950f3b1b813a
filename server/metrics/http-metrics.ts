// HTTP metrics as Koa middleware. The `route` label is the matched route template (`/sleep/:s`), never the
// raw URL, so a scan of random paths cannot blow up the series count; route and status follow the same
// rule as the access log (http/request-labels.ts).
import type { Middleware } from 'koa';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { answeredStatus, isHealthCheck, routeLabel } from '../http/request-labels';
import { LATENCY_BUCKETS, METRIC } from './names';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function httpMetricsMiddleware(registry: Registry): Middleware {
  const registers = [registry];
  const requests = new Counter({
    name: METRIC.httpRequests,
    help: 'HTTP requests answered, by method, route template and status.',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: METRIC.httpDuration,
    help: 'HTTP request duration by method and route template.',
    labelNames: ['method', 'route'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const inFlight = new Gauge({
    name: METRIC.httpInFlight,
    help: 'HTTP requests being handled right now.',
    registers,
  });
  const healthChecks = new Counter({
    name: METRIC.httpHealthChecks,
    help: 'Health checks answered (/healthz, /readyz), by route and status; those that pass write no access-log line.',
    labelNames: ['route', 'status'],
    registers,
  });

  return (ctx, next) => {
    const started = performance.now();
    inFlight.inc();
    const record = () => {
      inFlight.dec();
      const route = routeLabel(ctx);
      const method = KNOWN_METHODS.has(ctx.method) ? ctx.method : 'OTHER';
      const status = String(answeredStatus(ctx));
      requests.inc({ method, route, status });
      duration.observe({ method, route }, (performance.now() - started) / 1000);
      if (isHealthCheck(route)) healthChecks.inc({ route, status });
    };
    return next().then(record, (error: unknown) => {
      record();
      throw error;
    });
  };
}
