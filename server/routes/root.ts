import Router from '@koa/router';

/** The reference's `/`: plain text, no database. */
export function rootRoutes(): Router {
  const router = new Router();
  router.get('/', (ctx) => {
    // The header's final text: ctx.type would look 'text/plain' up in mime-types on every request.
    ctx.set('Content-Type', 'text/plain; charset=utf-8');
    ctx.body = 'Welcome!\n';
  });
  return router;
}
