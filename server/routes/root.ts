import Router from '@koa/router';

/** The reference's `/`: plain text, no database. */
export function rootRoutes(): Router {
  const router = new Router();
  router.get('/', (ctx) => {
    // The header's final text, straight onto the response: ctx.type would look 'text/plain' up in
    // mime-types on every request, and Koa 3's ctx.set() builds two arrays and a closure per call.
    ctx.res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    ctx.body = 'Welcome!\n';
  });
  return router;
}
