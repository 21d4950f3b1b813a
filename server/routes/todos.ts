import Router from '@koa/router';
import { clientGone } from '../http/client-gone';
import { readJsonBody } from '../http/json-body';
import { HttpError, notFound } from '../http/errors';
import { todoEtag } from '../todos/etag';
import type { Todo, TodoRepository, WriteCondition } from '../todos/repository';
import { parseListQuery, parseNewTodo, parseTodoId, parseTodoPatch } from '../validation/todo';
import { ifMatchAccepts, parseIfMatch } from '../validation/todo-if-match';

export interface TodoRouteOptions {
  /** Largest JSON body accepted by POST and PATCH (BODY_LIMIT_BYTES). */
  bodyLimitBytes: number;
}

function absent(id: number): HttpError {
  return notFound(`Todo ${id} does not exist.`);
}

function preconditionFailed(id: number, current: Todo): HttpError {
  return new HttpError(412, 'precondition_failed',
    `Todo ${id} has changed since the If-Match entity tag was read; GET it again and retry with the current ETag.`,
    { ETag: todoEtag(current) });
}

/** The If-Match header as a condition on the locked row, or undefined for an unconditional write. */
function conditionFrom(header: string): WriteCondition | undefined {
  const ifMatch = parseIfMatch(header);
  return ifMatch && ((current) => ifMatchAccepts(ifMatch, todoEtag(current)));
}

/** /todos: the reference's keyed list, and each todo as a resource. API and rules: docs/todos.md. */
export function todoRoutes(todos: TodoRepository, options: TodoRouteOptions): Router {
  const router = new Router();

  router.get('/todos', async (ctx) => {
    const { status } = parseListQuery(ctx.query);
    ctx.body = await todos.listKeyed(status, clientGone(ctx));
  });

  router.post('/todos', async (ctx) => {
    const input = parseNewTodo(await readJsonBody(ctx, options.bodyLimitBytes));
    const todo = await todos.create(input);
    ctx.status = 201;
    ctx.set('Location', `/todos/${todo.id}`);
    ctx.set('ETag', todoEtag(todo));
    ctx.body = todo;
  });

  router.get('/todos/:id', async (ctx) => {
    const id = parseTodoId(ctx.params.id);
    const todo = await todos.get(id, clientGone(ctx));
    if (!todo) throw absent(id);
    ctx.set('ETag', todoEtag(todo));
    ctx.body = todo;
  });

  router.patch('/todos/:id', async (ctx) => {
    // Cheap checks first: a bad id or header is refused before the body is read.
    const id = parseTodoId(ctx.params.id);
    const condition = conditionFrom(ctx.get('If-Match'));
    const patch = parseTodoPatch(await readJsonBody(ctx, options.bodyLimitBytes));
    const outcome = await todos.update(id, patch, condition);
    if (outcome.kind === 'absent') throw absent(id);
    if (outcome.kind === 'refused') throw preconditionFailed(id, outcome.current);
    ctx.set('ETag', todoEtag(outcome.value));
    ctx.body = outcome.value;
  });

  router.delete('/todos/:id', async (ctx) => {
    const id = parseTodoId(ctx.params.id);
    const outcome = await todos.remove(id, conditionFrom(ctx.get('If-Match')));
    if (outcome.kind === 'absent') throw absent(id);
    if (outcome.kind === 'refused') throw preconditionFailed(id, outcome.current);
    ctx.status = 204;
  });

  return router;
}
