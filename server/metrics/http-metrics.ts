// HTTP metrics as Koa middleware. The `route` label is the matched route template (`/sleep/:s`), never the
// raw URL, so a scan of random paths cannot blow up the series count; route and status follow the same
// rule as the access log (http/request-labels.ts).
//
// A request only adds to plain numbers (HttpFigures): prom-client's inc() and observe() hash and check
// their labels on every call, a large part of what a request to GET / costs. The metrics read those
// numbers when scraped (collect()), the prom-client habit for values kept elsewhere. Each bucket also
// keeps its latest request (id, duration, time): the exemplar OpenMetrics shows beside the bucket.
import type { Context, Middleware } from 'koa';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { answeredStatus, isHealthCheck, routeLabel } from '../http/request-labels';
import { LATENCY_BUCKETS, METRIC } from './names';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The requests of one method and route: answers by status, and durations as histogram buckets. */
class RouteFigures {
  readonly statuses = new Map<number, number>();
  /** Requests per bucket of LATENCY_BUCKETS (not cumulative): at most that many seconds, more than the one before. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length);
  sum = 0;
  count = 0;
  /** The latest request per bucket (LATENCY_BUCKETS, then +Inf), its exemplar: id, seconds, Date.now(). */
  readonly exemplarIds: (string | undefined)[] = [];
  readonly exemplarSeconds = new Float64Array(LATENCY_BUCKETS.length + 1);
  readonly exemplarAt = new Float64Array(LATENCY_BUCKETS.length + 1);

  constructor(
    readonly method: string,
    readonly route: string,
  ) {}
}

export class HttpFigures {
  inFlight = 0;
  private readonly byRoute = new Map<string, Map<string, RouteFigures>>();

  record(method: string, route: string, status: number, seconds: number, requestId?: string): void {
    let byMethod = this.byRoute.get(route);
    if (!byMethod) this.byRoute.set(route, (byMethod = new Map()));
    let figures = byMethod.get(method);
    if (!figures) byMethod.set(method, (figures = new RouteFigures(method, route)));
    figures.statuses.set(status, (figures.statuses.get(status) ?? 0) + 1);
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]!) bucket += 1;
    if (bucket < LATENCY_BUCKETS.length) figures.buckets[bucket]! += 1;
    if (requestId !== undefined) {
      figures.exemplarIds[bucket] = requestId;
      figures.exemplarSeconds[bucket] = seconds;
      figures.exemplarAt[bucket] = Date.now();
    }
    figures.sum += seconds;
    figures.count += 1;
  }

  *routes(): Iterable<RouteFigures> {
    for (const byMethod of this.byRoute.values()) yield* byMethod.values();
  }
}

const DURATION_HELP = 'HTTP request duration by method and route template.';
type HistogramData = Awaited<ReturnType<Histogram<'method' | 'route'>['get']>>;

/**
 * http_request_duration_seconds, written from HttpFigures when scraped: the output of prom-client's own
 * Histogram (its get(), and getForPromString() that the text format reads), never fed by observe().
 */
class DurationHistogram extends Histogram<'method' | 'route'> {
  constructor(
    registry: Registry,
    private readonly figures: HttpFigures,
  ) {
    super({
      name: METRIC.httpDuration,
      help: DURATION_HELP,
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  /** As prom-client's: each value's own labels (`le`) apart from the series' (sharedLabels). */
  async getForPromString() {
    const name = METRIC.httpDuration;
    const bucketName = `${name}_bucket`;
    const values: {
      labels: Record<string, string | number>;
      sharedLabels: Record<string, string>;
      value: number;
      metricName: string;
      exemplar?: { labelSet: { request_id: string }; value: number; timestamp: number };
    }[] = [];
    for (const f of this.figures.routes()) {
      const shared = { method: f.method, route: f.route };
      let cumulative = 0;
      // The format prom-client's own histograms give their exemplars; only OpenMetrics prints them.
      const exemplar = (i: number) => {
        const id = f.exemplarIds[i];
        return id === undefined
          ? undefined
          : { labelSet: { request_id: id }, value: f.exemplarSeconds[i]!, timestamp: f.exemplarAt[i]! / 1000 };
      };
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += f.buckets[i]!;
        values.push({
          labels: { le },
          sharedLabels: shared,
          value: cumulative,
          metricName: bucketName,
          exemplar: exemplar(i),
        });
      });
      values.push({
        labels: { le: '+Inf' },
        sharedLabels: shared,
        value: f.count,
        metricName: bucketName,
        exemplar: exemplar(LATENCY_BUCKETS.length),
      });
      values.push({ labels: {}, sharedLabels: shared, value: f.sum, metricName: `${name}_sum` });
      values.push({ labels: {}, sharedLabels: shared, value: f.count, metricName: `${name}_count` });
    }
    return { name, help: DURATION_HELP, type: 'histogram', values, aggregator: 'sum' };
  }

  override async get(): Promise<HistogramData> {
    const data = await this.getForPromString();
    const values = data.values.map(({ labels, sharedLabels, ...rest }) => ({
      ...rest,
      labels: { ...labels, ...sharedLabels },
    }));
    return { ...data, values } as unknown as HistogramData;
  }
}

/**
 * What the HTTP metrics take from each request: begin() as it arrives, end() once the handlers are done
 * (its status and route are final then). The app calls both from its one request-scope middleware
 * (http/request-scope.ts), which already wraps every request: one promise and one start time per
 * request instead of one more of each (issue 16 item 6); httpMetricsMiddleware() is the same as a
 * middleware of its own.
 */
export interface HttpRecorder {
  begin(): void;
  /** `startedMs`: performance.now() when the request arrived. */
  end(ctx: Context, startedMs: number): void;
}

export function httpMetricsRecorder(registry: Registry): HttpRecorder {
  const figures = new HttpFigures();
  const registers = [registry];
  new Counter({
    name: METRIC.httpRequests,
    help: 'HTTP requests answered, by method, route template and status.',
    labelNames: ['method', 'route', 'status'],
    registers,
    collect() {
      this.reset();
      for (const f of figures.routes()) {
        for (const [status, n] of f.statuses) this.inc({ method: f.method, route: f.route, status: String(status) }, n);
      }
    },
  });
  new DurationHistogram(registry, figures);
  new Gauge({
    name: METRIC.httpInFlight,
    help: 'HTTP requests being handled right now.',
    registers,
    collect() {
      this.set(figures.inFlight);
    },
  });
  new Counter({
    name: METRIC.httpHealthChecks,
    help: 'Health checks answered (/healthz, /readyz), by route and status; those that pass write no access-log line.',
    labelNames: ['route', 'status'],
    registers,
    collect() {
      this.reset();
      for (const f of figures.routes()) {
        if (!isHealthCheck(f.route)) continue;
        for (const [status, n] of f.statuses) this.inc({ route: f.route, status: String(status) }, n);
      }
    },
  });

  return {
    begin: () => {
      figures.inFlight += 1;
    },
    end: (ctx, startedMs) => {
      figures.inFlight -= 1;
      const method = ctx.req.method ?? '';
      figures.record(
        KNOWN_METHODS.has(method) ? method : 'OTHER',
        routeLabel(ctx),
        answeredStatus(ctx),
        (performance.now() - startedMs) / 1000,
        ctx.state.requestId as string | undefined,
      );
    },
  };
}

/** The HTTP metrics as a middleware of their own (in-process tests; the app uses request-scope.ts). */
export function httpMetricsMiddleware(registry: Registry): Middleware {
  const recorder = httpMetricsRecorder(registry);
  return (ctx, next) => {
    const started = performance.now();
    recorder.begin();
    const end = () => recorder.end(ctx, started);
    return next().then(end, (error: unknown) => {
      end();
      throw error;
    });
  };
}
