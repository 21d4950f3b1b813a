// GET /todos a page at a time on a real stack (MariaDB + HAProxy + 2 workers): the seed's answer byte
// for byte, limit and after, the Link to the next page, ETag and If-None-Match per page, the status index,
// and walks that cross both workers while other clients insert and delete rows.
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { request } from '../support/http';
import { waitFor } from '../support/wait';
import { idsInText, readPage, walkPages, type PageRow } from './page-walk';
import { statusPagePlan } from './page-plan';
import { createTodo, ownStack, sendJson } from './todos-helpers';

const SEED = '{"1":{"item":"task1","status":"pending"},"2":{"item":"task2","status":"done"}}';

describe('GET /todos, a page at a time', function () {
  this.timeout(120_000);
  const stack = ownStack();
  const url = (worker: number, path: string) => `${stack().workers[worker]!.url}${path}`;

  describe('on the seed alone', () => {
    it('answers the two seed rows byte for byte as before, with no Link', async () => {
      for (const worker of [0, 1]) {
        const reply = await request(url(worker, '/todos'));
        expect(reply.status).to.equal(200);
        expect(reply.text).to.equal(SEED);
        expect(reply.headers.get('content-type')).to.equal('application/json; charset=utf-8');
        expect(reply.headers.get('content-length')).to.equal(String(SEED.length));
        expect(reply.headers.get('link')).to.equal(null);
      }
      expect((await request(url(0, '/todos?status=done'))).text).to.equal('{"2":{"item":"task2","status":"done"}}');
      expect((await request(url(1, '/todos?status=pending&limit=1'))).text).to.equal(
        '{"1":{"item":"task1","status":"pending"}}',
      );
    });

    it('links to the next page only while more rows follow', async () => {
      const first = await request(url(0, '/todos?limit=1'));
      expect(first.text).to.equal('{"1":{"item":"task1","status":"pending"}}');
      expect(first.headers.get('link')).to.equal('</todos?limit=1&after=1>; rel="next"');
      const second = await request(url(1, '/todos?limit=1&after=1'));
      expect(second.text).to.equal('{"2":{"item":"task2","status":"done"}}');
      expect(second.headers.get('link')).to.equal(null); // full, but nothing follows: limit + 1 rows were asked for
      const beyond = await request(url(0, '/todos?after=2'));
      expect([beyond.status, beyond.text, beyond.headers.get('link')]).to.deep.equal([200, '{}', null]);
      const filtered = await request(url(0, '/todos?status=done&limit=1&after=0'));
      expect(filtered.text).to.equal('{"2":{"item":"task2","status":"done"}}');
      expect(filtered.headers.get('link')).to.equal(null);
    });

    it('answers HEAD with the headers of GET and no body', async () => {
      const reply = await fetch(url(1, '/todos?limit=1'), { method: 'HEAD' });
      expect(reply.status).to.equal(200);
      expect(await reply.text()).to.equal('');
      expect(reply.headers.get('link')).to.equal('</todos?limit=1&after=1>; rel="next"');
      const get = await request(url(0, '/todos?limit=1'));
      expect(reply.headers.get('etag')).to.equal(get.headers.get('etag'));
      expect(reply.headers.get('content-length')).to.equal(String(get.text.length));
    });
  });

  describe('bad limit and after', () => {
    for (const [query, parameter, rule] of [
      ['limit=0', 'limit', 'positive_integer'],
      ['limit=abc', 'limit', 'positive_integer'],
      ['limit=', 'limit', 'positive_integer'],
      ['limit=1001', 'limit', 'range'],
      ['limit=1&limit=2', 'limit', 'single'],
      ['after=-1', 'after', 'non_negative_integer'],
      ['after=1.5', 'after', 'non_negative_integer'],
      ['after=4294967296', 'after', 'range'],
      ['after=1&after=2', 'after', 'single'],
      ['cursor=abc', 'cursor', 'unknown_parameter'],
    ] as const) {
      it(`answers 400 JSON naming ${parameter} and the rule ${rule} for ?${query}`, async () => {
        const reply = await request(url(0, `/todos?${query}`));
        expect(reply.status).to.equal(400);
        const body = reply.body as Record<string, unknown>;
        expect(body).to.include({
          error: 'bad_request',
          parameter,
          rule,
          requestId: reply.headers.get('x-request-id'),
        });
        expect(body.message).to.be.a('string').and.match(/\.$/);
        expect(Object.keys(body).sort()).to.deep.equal(['error', 'message', 'parameter', 'requestId', 'rule']);
      });
    }
  });

  describe('ETag and If-None-Match', () => {
    it('answers 304 for the current tag of a page, and 200 with a new tag once the page changed', async () => {
      const first = await request(url(0, '/todos?limit=2'));
      const etag = first.headers.get('etag')!;
      expect(etag).to.match(/^"[A-Za-z0-9_-]{22}"$/);
      const again = await request(url(1, '/todos?limit=2'), { headers: { 'if-none-match': etag } });
      expect([again.status, again.text, again.headers.get('etag')]).to.deep.equal([304, '', etag]);
      expect((await request(url(1, '/todos?limit=2'), { headers: { 'if-none-match': '"other"' } })).status).to.equal(
        200,
      );
      for (const listed of [`"other", ${etag}`, `W/${etag}`, '*']) {
        expect(
          (await request(url(0, '/todos?limit=2'), { headers: { 'if-none-match': listed } })).status,
          listed,
        ).to.equal(304);
      }
      expect((await request(url(0, '/todos?limit=1'), { headers: { 'if-none-match': etag } })).status).to.equal(200); // another page

      expect((await sendJson(url(0, '/todos/1'), 'PATCH', { item: 'task1 changed' })).status).to.equal(200);
      const changed = await request(url(1, '/todos?limit=2'), { headers: { 'if-none-match': etag } });
      expect(changed.status).to.equal(200);
      expect(changed.text).to.equal(
        '{"1":{"item":"task1 changed","status":"pending"},"2":{"item":"task2","status":"done"}}',
      );
      expect(changed.headers.get('etag')).to.not.equal(etag);
      expect((await sendJson(url(0, '/todos/1'), 'PATCH', { item: 'task1' })).status).to.equal(200);
      expect((await request(url(0, '/todos?limit=2'))).headers.get('etag')).to.equal(etag); // the same page again
    });

    it('gives a full last page a new tag once a row follows it (its Link changed, its body did not)', async () => {
      const last = await request(url(0, '/todos?limit=2'));
      expect(last.headers.get('link')).to.equal(null);
      const { todo } = await createTodo(url(1, ''), { item: 'after the seed' });
      const now = await request(url(0, '/todos?limit=2'), { headers: { 'if-none-match': last.headers.get('etag')! } });
      expect(now.status).to.equal(200);
      expect(now.text).to.equal(last.text);
      expect(now.headers.get('link')).to.equal('</todos?limit=2&after=2>; rel="next"');
      expect(now.headers.get('etag')).to.not.equal(last.headers.get('etag'));
      expect((await request(url(1, `/todos/${todo.id}`), { method: 'DELETE' })).status).to.equal(204);
    });
  });

  describe('over a few thousand rows', () => {
    const STABLE = 1200;
    let admin: mysql.Connection;
    /** Rows nobody deletes during the walks, by id. */
    const stable = new Map<number, PageRow>();
    /** Rows the mutators may delete (and those they add), by id. */
    const volatile: number[] = [];

    before(async () => {
      admin = await stack().admin();
      // Stable rows interleaved with volatile ones (every third), so deletes land in every page.
      const rows = Array.from({ length: (STABLE * 3) / 2 }, (_, i) =>
        i % 3 === 2 ? [`volatile ${i}`, 'pending'] : [`stable ${i} ✓`, i % 2 === 0 ? 'done' : 'pending'],
      );
      await admin.query('INSERT INTO todos (item, status) VALUES ?', [rows]);
      const [all] = await admin.query<mysql.RowDataPacket[]>('SELECT id, item, status FROM todos ORDER BY id');
      for (const row of all) {
        if (String(row.item).startsWith('volatile')) volatile.push(row.id as number);
        else stable.set(row.id as number, { id: row.id, item: row.item, status: row.status });
      }
      expect(stable.size).to.equal(STABLE + 2);
    });

    after(async () => {
      await admin?.end();
    });

    it('serves ?status= pages by a range scan of todos_status_id on both its parts', async () => {
      for (const status of ['done', 'pending']) {
        for (const after of [0, 900, 1700]) {
          expect(await statusPagePlan(admin, status, after, 100)).to.deep.equal({
            access: 'range',
            key: 'todos_status_id',
            keyParts: ['status', 'id'],
            filesort: false,
          });
        }
      }
    });

    it('walks every row exactly once, in id order, across both workers, for each limit and status', async () => {
      const [all] = await admin.query<mysql.RowDataPacket[]>('SELECT id, item, status FROM todos ORDER BY id');
      const expected = all.map((row) => ({
        id: row.id as number,
        item: row.item as string,
        status: row.status as string,
      }));
      for (const limit of [1000, 100, 7]) {
        expect(await walkPages((page) => url(page % 2, ''), `/todos?limit=${limit}`)).to.deep.equal(expected);
      }
      expect(await walkPages((page) => url(page % 2, ''))).to.deep.equal(expected); // the default limit
      for (const status of ['done', 'pending']) {
        expect(await walkPages((page) => url(page % 2, ''), `/todos?status=${status}&limit=50`)).to.deep.equal(
          expected.filter((row) => row.status === status),
        );
      }
    });

    it('while rows are inserted and deleted: each row present throughout once, none twice, in order', async () => {
      let mutations = 0;
      let walking = true;
      const added: number[] = [];
      const mutator = async (worker: number) => {
        while (walking) {
          const { todo } = await createTodo(url(worker, ''), {
            item: `volatile new ${mutations}`,
            status: mutations % 2 ? 'done' : 'pending',
          });
          added.push(todo.id);
          volatile.push(todo.id);
          const victim = volatile.splice(Math.floor(Math.random() * volatile.length), 1)[0]!;
          const deleted = await request(url(1 - worker, `/todos/${victim}`), { method: 'DELETE' });
          expect(deleted.status).to.equal(204);
          mutations += 1;
        }
      };
      const walk = async (start: string, startWorker: number) => {
        const rows: PageRow[] = [];
        let path: string | undefined = start;
        for (let page = 0; path !== undefined; page += 1) {
          // Every page waits for a few more writes, so the walk surely runs across them.
          const due = mutations + 2;
          await waitFor('the mutators to write', () => (mutations >= due ? true : undefined), 30_000, 2);
          const read: { rows: PageRow[]; next?: string } = await readPage(url((startWorker + page) % 2, ''), path);
          rows.push(...read.rows);
          path = read.next;
        }
        return rows;
      };
      const mutators = [mutator(0), mutator(1)];
      let walks: PageRow[][];
      try {
        walks = await Promise.all([
          walk('/todos?limit=40', 0),
          walk('/todos?limit=40', 1),
          walk('/todos?status=done&limit=30', 0),
          walk('/todos?status=pending&limit=30', 1),
        ]);
      } finally {
        walking = false;
        await Promise.all(mutators);
      }
      expect(mutations).to.be.above(100);
      const filters: ((row: PageRow) => boolean)[] = [
        () => true,
        () => true,
        (row) => row.status === 'done',
        (row) => row.status === 'pending',
      ];
      walks.forEach((rows, i) => {
        const ids = rows.map((row) => row.id);
        for (let k = 1; k < ids.length; k += 1)
          expect(ids[k], `walk ${i}: ids in order, none twice`).to.be.above(ids[k - 1]!);
        const stableSeen = rows.filter((row) => stable.has(row.id));
        expect(stableSeen, `walk ${i}: every stable row once`).to.deep.equal([...stable.values()].filter(filters[i]!));
        for (const row of rows) {
          if (!stable.has(row.id)) expect(row.item, `walk ${i}: row ${row.id}`).to.match(/^volatile /);
          expect(filters[i]!(row), `walk ${i}: row ${row.id} has the status asked for`).to.equal(true);
        }
      });
      expect(added.length).to.equal(mutations);
    });

    it('keeps ids in the text in order on a page of 1000', async () => {
      const reply = await request(url(0, '/todos?limit=1000'));
      const ids = idsInText(reply.text);
      expect(ids).to.have.length(1000);
      expect([...ids].sort((a, b) => a - b)).to.deep.equal(ids);
    });
  });
});
