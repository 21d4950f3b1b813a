// Builds the Koa app from its dependencies. No listen(), no process.env: main.ts does both.
import Router from '@koa/router';
import Koa from 'koa';
import type { Registry } from 'prom-client';
import type { Db } from './db/db';
import type { AccessLogOptions } from './http/access-log';
import type { Logger } from './http/error-middleware';
import { requestScopeMiddleware } from './http/request-scope';
import { IdempotencyStore } from './idempotency/store';
import { httpMetricsRecorder } from './metrics/http-metrics';
import { registerIdempotencyMetrics, silentIdempotencyMetrics } from './metrics/idempotency-metrics';
import { healthRoutes } from './routes/health';
import { metricsRoutes } from './routes/metrics';
import { rootRoutes } from './routes/root';
import { sleepRoutes } from './routes/sleep';
import { todoRoutes } from './routes/todos';
import type { PageEncoder } from './todos/page';
import { TodoRepository } from './todos/repository';

export interface AppDeps {
  db: Db;
  /** The worker's metrics; undefined turns recording off (METRICS=0): nothing is counted and /metrics is 404. */
  registry?: Registry;
  log: Logger;
  sleepMaxSeconds: number;
  bodyLimitBytes: number;
  /** IDEMPOTENCY_KEY_TTL_SECONDS; 24 h when not given. */
  idempotencyKeyTtlSeconds?: number;
  /** Access log settings; undefined turns the log off (ACCESS_LOG=0). */
  accessLog?: AccessLogOptions;
  /** Encodes the pages of GET /todos; a test may pass one that counts its encodings. */
  pageEncoder?: PageEncoder;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  // Errors are answered in the request scope; Koa's own default handler would print them a second time.
  app.silent = true;
  // The request's id, clientGone, error answers, metrics and access line, around the handlers whose pool
  // waits it sums.
  app.use(
    requestScopeMiddleware({
      log: deps.log,
      accessLog: deps.accessLog,
      metrics: deps.registry ? httpMetricsRecorder(deps.registry) : undefined,
    }),
  );
  // One root router, so 405 (with Allow) is decided over every route at once.
  const root = new Router();
  const routers = [
    rootRoutes(),
    healthRoutes(deps.db),
    ...(deps.registry ? [metricsRoutes(deps.registry)] : []),
    todoRoutes(new TodoRepository(deps.db), {
      bodyLimitBytes: deps.bodyLimitBytes,
      idempotency: new IdempotencyStore(deps.db, deps.idempotencyKeyTtlSeconds ?? 24 * 3600),
      idempotencyMetrics: deps.registry ? registerIdempotencyMetrics(deps.registry) : silentIdempotencyMetrics,
      pageEncoder: deps.pageEncoder,
    }),
    sleepRoutes(deps.db, deps.sleepMaxSeconds),
  ];
  for (const router of routers) root.use(router.routes());
  app.use(root.routes());
  app.use(root.allowedMethods());
  return app;
}
