// The two text formats /metrics serves from one registry: Prometheus's classic text (0.0.4) and, when the
// scraper asks for it, OpenMetrics 1.0, the only one that carries exemplars (a request id per bucket).
import { Counter, Registry } from 'prom-client';

const OPENMETRICS = 'application/openmetrics-text';

/**
 * True when the Accept header prefers OpenMetrics to the classic text/plain: Prometheus sends
 * `application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5,*\/*;q=0.1`. A wildcard
 * counts for text/plain only, so curl, browsers and scrapers that send nothing get the classic format.
 */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  let openMetrics = 0;
  let classic = 0;
  for (const entry of (accept ?? '').split(',')) {
    const [type = '', ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    const qParam = params.find((param) => param.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === OPENMETRICS) openMetrics = Math.max(openMetrics, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') classic = Math.max(classic, q);
  }
  return openMetrics > 0 && openMetrics > classic;
}

interface Renderer {
  getMetricsAsString(metric: unknown): Promise<string>;
}

/**
 * The registry in OpenMetrics, exemplars included. Not through setContentType() and metrics(): that
 * metrics() renames every counter in place (http_requests_total becomes http_requests for good), so the
 * classic format served next would lose its `_total` (prometheus/client_js#829), and a content type set
 * on the shared registry would race between two scrapes. Instead each metric is rendered through a view
 * of the registry that differs only in its content type (same metrics, same default labels), and a
 * counter is given its OpenMetrics family name (without `_total`, which each sample gets back).
 */
export async function openMetricsText(registry: Registry): Promise<string> {
  const view = Object.create(registry, {
    contentType: { value: Registry.OPENMETRICS_CONTENT_TYPE },
  }) as Registry & Renderer;
  const texts = await Promise.all(
    registry.getMetricsAsArray().map((metric) => {
      if (!(metric instanceof Counter)) return view.getMetricsAsString(metric);
      const counter = metric;
      return view.getMetricsAsString({
        get: async () => {
          const data = await counter.get();
          return { ...data, name: data.name.replace(/_total$/, '') };
        },
      });
    }),
  );
  return `${texts.join('\n')}\n# EOF\n`;
}
