import Router from '@koa/router';
import { Registry } from 'prom-client';
import { openMetricsText, wantsOpenMetrics } from '../metrics/exposition';

export function metricsRoutes(registry: Registry): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    // Prometheus asks for OpenMetrics first (the format with exemplars); everyone else gets the classic text.
    ctx.vary('Accept');
    if (wantsOpenMetrics(ctx.get('Accept'))) {
      ctx.type = Registry.OPENMETRICS_CONTENT_TYPE;
      ctx.body = await openMetricsText(registry);
    } else {
      ctx.type = Registry.PROMETHEUS_CONTENT_TYPE;
      ctx.body = await registry.metrics();
    }
  });
  return router;
}
