// Every /todos route on a real stack (MariaDB + HAProxy + 2 workers), each write made through one worker
// and read back through the other, so nothing can be answered from a worker's own memory.
import { expect } from 'chai';
import { request } from '../support/http';
import { walkPages } from './page-walk';
import {
  createTodo,
  DEFAULT_BODY_LIMIT,
  ownStack,
  queryCount,
  send,
  sendJson,
  tableState,
  type Todo,
} from './todos-helpers';

describe('/todos as a resource', function () {
  this.timeout(60_000);
  const stack = ownStack();

  for (const [writer, reader] of [
    [0, 1],
    [1, 0],
  ] as const) {
    describe(`written through worker ${writer + 1}, read through worker ${reader + 1}`, () => {
      const w = (path: string) => `${stack().workers[writer]!.url}${path}`;
      const r = (path: string) => `${stack().workers[reader]!.url}${path}`;

      it('POST /todos answers 201 with Location, ETag and the stored row, status defaulting to pending', async () => {
        const reply = await sendJson(w('/todos'), 'POST', { item: 'write the docs' });
        expect(reply.status).to.equal(201);
        expect(reply.headers.get('content-type')).to.equal('application/json; charset=utf-8');
        const todo = reply.body as Todo;
        expect(todo).to.have.all.keys('id', 'item', 'status');
        expect(todo).to.include({ item: 'write the docs', status: 'pending' });
        expect(todo.id).to.be.a('number').above(2);
        expect(reply.headers.get('location')).to.equal(`/todos/${todo.id}`);
        expect(reply.headers.get('etag')).to.match(/^"[A-Za-z0-9_-]{22}"$/);

        const read = await request(r(`/todos/${todo.id}`));
        expect(read.status).to.equal(200);
        expect(read.body).to.deep.equal(todo);
        expect(read.headers.get('etag')).to.equal(reply.headers.get('etag'));
      });

      it('POST /todos stores a given status', async () => {
        const { todo } = await createTodo(w(''), { item: 'already', status: 'done' });
        expect(todo.status).to.equal('done');
        expect((await request(r(`/todos/${todo.id}`))).body).to.deep.equal(todo);
      });

      it('POST /todos accepts a body of exactly the limit (16384 bytes)', async () => {
        const head = '{"item": "exactly at the limit"';
        const body = `${head}${' '.repeat(DEFAULT_BODY_LIMIT - head.length - 1)}}`;
        expect(Buffer.byteLength(body)).to.equal(DEFAULT_BODY_LIMIT);
        const reply = await send(w('/todos'), 'POST', body);
        expect(reply.status).to.equal(201);
        expect(reply.body).to.include({ item: 'exactly at the limit', status: 'pending' });
      });

      it('POST /todos accepts a +json media type and an explicit UTF-8 charset', async () => {
        for (const type of [
          'application/json; charset=utf-8',
          'application/merge-patch+json',
          'Application/JSON;Charset="UTF-8"',
        ]) {
          const reply = await send(w('/todos'), 'POST', '{"item": "typed"}', { 'content-type': type });
          expect(reply.status, type).to.equal(201);
        }
      });

      it('GET /todos/:id answers 404 JSON for an id no row has', async () => {
        const reply = await request(r('/todos/4294967295'));
        expect(reply.status).to.equal(404);
        expect(reply.body).to.deep.equal({
          error: 'not_found',
          message: 'Todo 4294967295 does not exist.',
          requestId: reply.headers.get('x-request-id'),
        });
      });

      it('HEAD /todos/:id answers 200 with the ETag and no body', async () => {
        const { todo, etag } = await createTodo(w(''), { item: 'head me' });
        // fetch directly: the helper would try to parse the announced JSON that HEAD never sends.
        const reply = await fetch(r(`/todos/${todo.id}`), { method: 'HEAD' });
        expect(reply.status).to.equal(200);
        expect(reply.headers.get('etag')).to.equal(etag);
        expect(await reply.text()).to.equal('');
      });

      it('PATCH /todos/:id changes only the fields given and answers the updated row', async () => {
        const { todo, etag } = await createTodo(w(''), { item: 'patch me', status: 'pending' });
        const byStatus = await sendJson(r(`/todos/${todo.id}`), 'PATCH', { status: 'done' });
        expect(byStatus.status).to.equal(200);
        expect(byStatus.body).to.deep.equal({ id: todo.id, item: 'patch me', status: 'done' });
        expect(byStatus.headers.get('etag'))
          .to.match(/^"[A-Za-z0-9_-]{22}"$/)
          .and.not.equal(etag);

        const byItem = await sendJson(w(`/todos/${todo.id}`), 'PATCH', { item: 'patched' });
        expect(byItem.body).to.deep.equal({ id: todo.id, item: 'patched', status: 'done' });

        const both = await sendJson(r(`/todos/${todo.id}`), 'PATCH', { item: 'both', status: 'pending' });
        expect(both.body).to.deep.equal({ id: todo.id, item: 'both', status: 'pending' });

        const read = await request(w(`/todos/${todo.id}`));
        expect(read.body).to.deep.equal(both.body);
        expect(read.headers.get('etag')).to.equal(both.headers.get('etag'));
      });

      it('PATCH /todos/:id with the values the row already has answers 200 and the same ETag', async () => {
        const { todo, etag } = await createTodo(w(''), { item: 'same', status: 'done' });
        const reply = await sendJson(r(`/todos/${todo.id}`), 'PATCH', { item: 'same', status: 'done' });
        expect(reply.status).to.equal(200);
        expect(reply.body).to.deep.equal(todo);
        expect(reply.headers.get('etag')).to.equal(etag);
      });

      it('PATCH /todos/:id answers 404 JSON for an absent row and creates nothing', async () => {
        const admin = await stack().admin();
        try {
          const before = await tableState(admin);
          const reply = await sendJson(r('/todos/4294967295'), 'PATCH', { status: 'done' });
          expect(reply.status).to.equal(404);
          expect(reply.body).to.deep.equal({
            error: 'not_found',
            message: 'Todo 4294967295 does not exist.',
            requestId: reply.headers.get('x-request-id'),
          });
          expect(await tableState(admin)).to.deep.equal(before);
        } finally {
          await admin.end();
        }
      });

      it('DELETE /todos/:id answers 204 with no body, then the row is gone on both workers', async () => {
        const { todo } = await createTodo(w(''), { item: 'delete me' });
        const reply = await request(r(`/todos/${todo.id}`), { method: 'DELETE' });
        expect(reply.status).to.equal(204);
        expect(reply.text).to.equal('');
        for (const url of [w(`/todos/${todo.id}`), r(`/todos/${todo.id}`)]) {
          expect((await request(url)).status).to.equal(404);
        }
        expect(Object.keys((await request(w(`/todos?after=${todo.id - 1}&limit=1`))).body as object)).to.not.include(
          String(todo.id),
        );
      });

      it('DELETE /todos/:id answers 404 JSON for an absent row', async () => {
        const { todo } = await createTodo(w(''), { item: 'delete me twice' });
        expect((await request(w(`/todos/${todo.id}`), { method: 'DELETE' })).status).to.equal(204);
        const again = await request(r(`/todos/${todo.id}`), { method: 'DELETE' });
        expect(again.status).to.equal(404);
        expect(again.body).to.deep.equal({
          error: 'not_found',
          message: `Todo ${todo.id} does not exist.`,
          requestId: again.headers.get('x-request-id'),
        });
      });

      it('GET /todos answers every row in the reference shape, in id order, page after page', async () => {
        const { todo } = await createTodo(w(''), { item: 'listed', status: 'done' });
        const admin = await stack().admin();
        try {
          const { rows } = await tableState(admin);
          const reply = await request(r(`/todos?after=${todo.id - 1}&limit=1`));
          expect(reply.status).to.equal(200);
          expect(reply.text).to.equal(`{"${todo.id}":{"item":"listed","status":"done"}}`);
          // walkPages reads the ids in the order of each page's text (JSON.parse would sort them anyway).
          expect(await walkPages(() => r(''), '/todos?limit=3')).to.deep.equal(rows);
        } finally {
          await admin.end();
        }
      });

      for (const status of ['done', 'pending'] as const) {
        it(`GET /todos?status=${status} answers only the ${status} rows, in the same shape`, async () => {
          await createTodo(w(''), { item: `filter ${status}`, status });
          const all = await walkPages(() => r(''), '/todos?limit=1000');
          const expected = all.filter((row) => row.status === status);
          expect(expected).to.have.length.above(0);
          expect(await walkPages(() => r(''), `/todos?status=${status}&limit=2`)).to.deep.equal(expected);
        });
      }
    });
  }

  describe('methods', () => {
    const url = (path: string) => `${stack().workers[0]!.url}${path}`;

    it('PUT /todos/:id answers 405 JSON with Allow', async () => {
      const reply = await sendJson(url('/todos/1'), 'PUT', { item: 'x' });
      expect(reply.status).to.equal(405);
      expect(reply.headers.get('allow')).to.equal('HEAD, GET, PATCH, DELETE');
      expect(reply.body).to.deep.equal({
        error: 'method_not_allowed',
        message: 'PUT is not allowed on /todos/1; allowed: HEAD, GET, PATCH, DELETE.',
        requestId: reply.headers.get('x-request-id'),
      });
    });

    it('DELETE /todos answers 405 JSON with Allow', async () => {
      const reply = await request(url('/todos'), { method: 'DELETE' });
      expect(reply.status).to.equal(405);
      expect(reply.headers.get('allow')).to.equal('HEAD, GET, POST');
    });
  });

  describe('query metrics', () => {
    it('counts each operation under its own query name on the worker that ran it', async () => {
      const base = stack().workers[0]!.url;
      const names = ['list_todos', 'get_todo', 'create_todo', 'update_todo', 'delete_todo'];
      const before = await Promise.all(names.map((name) => queryCount(base, name)));
      const { todo } = await createTodo(base, { item: 'counted' });
      await request(`${base}/todos/${todo.id}`);
      await sendJson(`${base}/todos/${todo.id}`, 'PATCH', { status: 'done' });
      await request(`${base}/todos`);
      await request(`${base}/todos/${todo.id}`, { method: 'DELETE' });
      const after = await Promise.all(names.map((name) => queryCount(base, name)));
      expect(after.map((count, i) => count - before[i]!)).to.deep.equal([1, 1, 1, 1, 1]);
    });
  });
});
