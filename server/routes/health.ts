import Router from '@koa/router';
import type { Db } from '../db/db';
import { unavailable } from '../http/errors';
import { dbWork } from '../http/request-context';

/** Liveness, readiness and the pool's state (the counterpart of the reference's `engine.pool.__dict__`). */
export function healthRoutes(db: Db): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const pool = db.poolStats;
    if (pool.used >= pool.limit || pool.pending > 0) {
      // The connection is busy (a long /sleep, a burst): a probe that queued behind it would time out
      // and report a healthy database as unreachable. The busy work itself is the evidence.
      if (db.lastStatementReachedDatabase === false) {
        throw unavailable('not_ready', 'The database is not reachable through HAProxy.', 1);
      }
      ctx.body = { status: 'ready', pool: 'busy' };
      return;
    }
    try {
      // Short timeout: a readiness probe must answer quickly even when the database hangs.
      await dbWork(ctx, () => db.query('ping', 'SELECT 1', [], { idempotent: true, timeoutMs: 2000 }));
    } catch {
      throw unavailable('not_ready', 'The database is not reachable through HAProxy.', 1);
    }
    ctx.body = { status: 'ready' };
  });
  router.get('/pool', (ctx) => {
    const { limit, used, idle, pending, open, queueLimit, acquireTimeoutMs, created, closed, rejected } = db.poolStats;
    ctx.body = { limit, used, idle, pending, open, queueLimit, acquireTimeoutMs, created, closed, rejected };
  });
  return router;
}
