// db_query_duration_seconds: prom-client's Histogram plus, per bucket, the latest request whose statement
// landed there: its exemplar in the OpenMetrics exposition. Kept here rather than through prom-client's
// enableExemplars, whose update hashes the labels a second time and sizes the exemplar on every query
// (measured: as much again as the observe() itself), and which only registers into an OpenMetrics registry.
import { Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS, METRIC } from './names';

interface Exemplar {
  labelSet: { request_id: string };
  value: number;
  timestamp: number;
}
/** What prom-client's Histogram renders from (getForPromString, which its d.ts leaves out). */
interface RenderedValues {
  values: { labels: { le?: string | number }; sharedLabels?: Record<string, unknown>; exemplar?: Exemplar }[];
}
const histogramRender = (Histogram.prototype as unknown as { getForPromString(): Promise<RenderedValues> })
  .getForPromString;

/** The latest request per bucket (LATENCY_BUCKETS, then +Inf) of one query and outcome, in plain arrays. */
class Latest {
  readonly ids: (string | undefined)[] = [];
  readonly seconds = new Float64Array(LATENCY_BUCKETS.length + 1);
  readonly at = new Float64Array(LATENCY_BUCKETS.length + 1);

  exemplar(bucket: number): Exemplar | undefined {
    const id = this.ids[bucket];
    return id === undefined
      ? undefined
      : { labelSet: { request_id: id }, value: this.seconds[bucket]!, timestamp: this.at[bucket]! / 1000 };
  }
}

export class QueryDurationHistogram extends Histogram<'query' | 'outcome'> {
  /** By query, then outcome. */
  private readonly latest = new Map<string, Map<string, Latest>>();

  constructor(registry: Registry) {
    super({
      name: METRIC.queryDuration,
      help: 'Time a named query ran on its connection, by outcome (ok, error, timeout, cancelled).',
      labelNames: ['query', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  /** observe(), and the request (when there is one) as the exemplar of the bucket `seconds` falls in. */
  record(query: string, outcome: string, seconds: number, requestId: string | undefined): void {
    this.observe({ query, outcome }, seconds);
    if (requestId === undefined) return;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]!) bucket += 1;
    let byOutcome = this.latest.get(query);
    if (!byOutcome) this.latest.set(query, (byOutcome = new Map()));
    let latest = byOutcome.get(outcome);
    if (!latest) byOutcome.set(outcome, (latest = new Latest()));
    latest.ids[bucket] = requestId;
    latest.seconds[bucket] = seconds;
    latest.at[bucket] = Date.now();
  }

  async getForPromString(): Promise<RenderedValues> {
    const data = await histogramRender.call(this);
    for (const value of data.values) {
      const { le } = value.labels;
      if (le === undefined || !value.sharedLabels) continue;
      const latest = this.latest.get(String(value.sharedLabels.query))?.get(String(value.sharedLabels.outcome));
      const exemplar = latest?.exemplar(le === '+Inf' ? LATENCY_BUCKETS.length : LATENCY_BUCKETS.indexOf(Number(le)));
      if (exemplar) value.exemplar = exemplar;
    }
    return data;
  }
}
