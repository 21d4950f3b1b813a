import Router from '@koa/router';
import type { TodoRepository } from '../todos/repository';

/** The reference's `/todos`: every row, keyed by id, in id order. */
export function todoRoutes(todos: TodoRepository): Router {
  const router = new Router();
  router.get('/todos', async (ctx) => {
    ctx.body = await todos.listKeyed();
  });
  return router;
}
