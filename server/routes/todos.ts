import Router from '@koa/router';
import type { Context } from 'koa';
import type { Transaction } from '../db/db';
import { errorAnswer, respond, type Answer } from '../http/answer';
import { clientGone } from '../http/client-gone';
import { dbWork } from '../http/request-context';
import { readJsonBody } from '../http/json-body';
import { HttpError, notFound } from '../http/errors';
import { answerKeyedWrite } from '../idempotency/answer-keyed';
import { requestFingerprint } from '../idempotency/fingerprint';
import { parseIdempotencyKey } from '../idempotency/key';
import type { IdempotencyStore } from '../idempotency/store';
import type { IdempotencyMetrics } from '../metrics/idempotency-metrics';
import { ifNoneMatchHits, todoEtag } from '../todos/etag';
import { PageEncoder } from '../todos/page';
import type { Todo, TodoRepository, WriteCondition, WriteOutcome } from '../todos/repository';
import { TodoEncoder } from '../todos/todo-body';
import { parsePageQuery } from '../validation/page';
import { parseNewTodo, parseTodoId, parseTodoPatch } from '../validation/todo';
import { ifMatchAccepts, parseIfMatch } from '../validation/todo-if-match';

export interface TodoRouteOptions {
  /** Largest JSON body accepted by POST and PATCH (BODY_LIMIT_BYTES). */
  bodyLimitBytes: number;
  /** Where POST, PATCH and DELETE with an Idempotency-Key claim it and store their answer. */
  idempotency: IdempotencyStore;
  idempotencyMetrics: IdempotencyMetrics;
  /** Encodes each page of GET /todos once per read batch; a test may pass one that counts. */
  pageEncoder?: PageEncoder;
}

/** The JSON bodies' header as its final text: `ctx.type = 'json'` would look it up in mime-types each time. */
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Sends an already encoded JSON body with its entity tag. The headers go straight onto the response:
 * Koa 3's ctx.set() builds two arrays and a closure on every call, for values that are final strings.
 */
function sendEncoded(ctx: Context, body: string | Buffer, etag: string): void {
  ctx.res.setHeader('ETag', etag);
  ctx.res.setHeader('Content-Type', JSON_TYPE);
  ctx.body = body;
}

function absent(id: number): HttpError {
  return notFound(`Todo ${id} does not exist.`);
}

function preconditionFailed(id: number, current: Todo): HttpError {
  return new HttpError(
    412,
    'precondition_failed',
    `Todo ${id} has changed since the If-Match entity tag was read; GET it again and retry with the current ETag.`,
    { ETag: todoEtag(current) },
  );
}

function created(todo: Todo): Answer {
  return { status: 201, headers: { Location: `/todos/${todo.id}`, ETag: todoEtag(todo) }, body: todo };
}

/** A conditional write's answer: `done` is turned into the success answer by `onDone`. */
function writeAnswer<T>(id: number, outcome: WriteOutcome<T>, onDone: (value: T) => Answer): Answer {
  if (outcome.kind === 'absent') return errorAnswer(absent(id));
  if (outcome.kind === 'refused') return errorAnswer(preconditionFailed(id, outcome.current));
  return onDone(outcome.value);
}

function patched(todo: Todo): Answer {
  return { status: 200, headers: { ETag: todoEtag(todo) }, body: todo };
}

const deleted = (): Answer => ({ status: 204, headers: {} });

/** The If-Match header as a condition on the locked row, or undefined for an unconditional write. */
function conditionFrom(header: string): WriteCondition | undefined {
  const ifMatch = parseIfMatch(header);
  return ifMatch && ((current) => ifMatchAccepts(ifMatch, todoEtag(current)));
}

/** /todos: the reference's keyed list, a page at a time, and each todo as a resource. API and rules: docs/todos.md. */
export function todoRoutes(todos: TodoRepository, options: TodoRouteOptions): Router {
  const router = new Router();

  /**
   * A write with an Idempotency-Key: `work` runs in the key's transaction, and its answer (404 and 412
   * included: they are this request's outcome too) is stored there for the key's retries.
   */
  const keyedWrite = async (
    ctx: Context,
    name: string,
    key: string,
    body: unknown,
    work: (tx: Transaction) => Promise<Answer>,
  ): Promise<void> => {
    const fingerprint = requestFingerprint({ method: ctx.method, path: ctx.path, ifMatch: ctx.get('If-Match'), body });
    const outcome = await dbWork(ctx, () => options.idempotency.run(name, key, fingerprint, work));
    answerKeyedWrite(ctx, outcome, options.idempotencyMetrics);
  };

  const pages = options.pageEncoder ?? new PageEncoder();
  const todoBodies = new TodoEncoder();
  router.get('/todos', async (ctx) => {
    const query = parsePageQuery(ctx.query);
    const page = pages.encode(await dbWork(ctx, () => todos.listPage(query, clientGone(ctx))), query);
    if (page.link) ctx.res.setHeader('Link', page.link);
    // The batch's one Buffer, sent as is: Koa would stringify an object again for every request.
    sendEncoded(ctx, page.body, page.etag);
    // Read as Node keeps it: ctx.get() lower-cases the name again on every request.
    const ifNoneMatch = ctx.req.headers['if-none-match'] ?? '';
    if (ifNoneMatchHits(ifNoneMatch, page.etag)) ctx.status = 304; // the client's copy is current
  });

  router.post('/todos', async (ctx) => {
    const key = parseIdempotencyKey(ctx.req.headersDistinct);
    const body = await readJsonBody(ctx, options.bodyLimitBytes);
    const input = parseNewTodo(body);
    if (key === undefined) respond(ctx, created(await dbWork(ctx, () => todos.create(input))));
    else await keyedWrite(ctx, 'create_todo', key, body, async (tx) => created(await todos.createIn(tx, input)));
  });

  router.get('/todos/:id', async (ctx) => {
    const id = parseTodoId(ctx.params.id);
    const todo = await dbWork(ctx, () => todos.get(id, clientGone(ctx)));
    if (!todo) throw absent(id);
    const encoded = todoBodies.encode(todo);
    // The row's one JSON text: with the row as the body, Koa would stringify it again for every request.
    sendEncoded(ctx, encoded.body, encoded.etag);
  });

  router.patch('/todos/:id', async (ctx) => {
    // Cheap checks first: a bad id or header is refused before the body is read.
    const id = parseTodoId(ctx.params.id);
    const condition = conditionFrom(ctx.get('If-Match'));
    const key = parseIdempotencyKey(ctx.req.headersDistinct);
    const body = await readJsonBody(ctx, options.bodyLimitBytes);
    const patch = parseTodoPatch(body);
    if (key === undefined)
      respond(ctx, writeAnswer(id, await dbWork(ctx, () => todos.update(id, patch, condition)), patched));
    else
      await keyedWrite(ctx, 'update_todo', key, body, async (tx) =>
        writeAnswer(id, await todos.updateIn(tx, id, patch, condition), patched),
      );
  });

  router.delete('/todos/:id', async (ctx) => {
    const id = parseTodoId(ctx.params.id);
    const condition = conditionFrom(ctx.get('If-Match'));
    const key = parseIdempotencyKey(ctx.req.headersDistinct);
    if (key === undefined) respond(ctx, writeAnswer(id, await dbWork(ctx, () => todos.remove(id, condition)), deleted));
    else
      await keyedWrite(ctx, 'delete_todo', key, undefined, async (tx) =>
        writeAnswer(id, await todos.removeIn(tx, id, condition), deleted),
      );
  });

  return router;
}
