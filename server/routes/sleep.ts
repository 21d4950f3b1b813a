import Router from '@koa/router';
import type { Db } from '../db/db';
import { clientGone } from '../http/client-gone';
import { dbWork } from '../http/request-context';
import { parseSleepSeconds } from '../validation/seconds';

/** The reference's `/sleep/<s>`: holds the worker's one connection for `s` seconds inside MySQL. */
export function sleepRoutes(db: Db, maxSeconds: number): Router {
  const router = new Router();
  // `/sleep` and `/sleep/` have no seconds at all: a 400 naming the rule beats a bare 404.
  router.get(['/sleep', '/sleep/'], () => {
    parseSleepSeconds('', maxSeconds);
  });
  router.get('/sleep/:s', async (ctx) => {
    const seconds = parseSleepSeconds(ctx.params.s, maxSeconds);
    await dbWork(ctx, () => db.query('sleep', 'SELECT SLEEP(?) AS slept', [seconds], { signal: clientGone(ctx) }));
    ctx.body = { slept: seconds };
  });
  return router;
}
