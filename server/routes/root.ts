import Router from '@koa/router';

/** The reference's `/`: plain text, no database. */
export function rootRoutes(): Router {
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'Welcome!\n';
  });
  return router;
}
