// Idempotency-Key on POST /todos and PATCH/DELETE /todos/:id, through both workers of a stack of its own:
// a retry replays the stored answer and writes nothing; the key with another request is 422; a key whose
// request still runs is 409 at once; a failed write frees its key; keys expire and are purged in
// batches; bad keys are 400 before any SQL; writes without a key are unchanged. API: docs/todos.md.
import net from 'node:net';
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import type { ResultSetHeader } from 'mysql2';
import { request, type Reply } from '../support/http';
import { waitFor } from '../support/wait';
import type { WorkerHandle } from '../support/worker';
import { createTodo, ownStack, sendJson, tableState, writeQueryCounts } from './todos-helpers';

interface KeyRow {
  idempotency_key: string;
  fingerprint: string;
  response_status: number;
  response_headers: string;
  response_body: string | null;
}

/** Sends a request with the exact header bytes given (fetch refuses some of the values tested here). */
function rawRequest(port: number, head: string, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('end', () =>
      resolve({ status: Number(received.slice(9, 12)), text: received.slice(received.indexOf('\r\n\r\n') + 4) }),
    );
    socket.on('error', reject);
    socket.end(
      Buffer.concat([
        Buffer.from(`${head}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`, 'latin1'),
        Buffer.from(body, 'utf8'),
      ]),
    );
  });
}

describe('Idempotency-Key on todo writes', function () {
  this.timeout(30_000);
  // A 1 s row-lock wait so the test of a failed write does not wait 5 s.
  const stack = ownStack({ workerEnv: { DB_LOCK_WAIT_TIMEOUT_SECONDS: '1' } });
  let admin: mysql.Connection;
  let a: WorkerHandle;
  let b: WorkerHandle;
  let keyCounter = 0;
  const newKey = () => `test-key-${process.pid}-${++keyCounter}`;

  before(async () => {
    admin = await stack().admin();
    [a, b] = stack().workers as [WorkerHandle, WorkerHandle];
  });
  after(async () => {
    await admin?.end();
  });

  function keyed(
    url: string,
    method: string,
    key: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    if (payload === undefined) return request(url, { method, headers: { 'idempotency-key': key, ...headers } });
    return sendJson(url, method, payload, { 'idempotency-key': key, ...headers });
  }

  async function keyRows(key?: string): Promise<KeyRow[]> {
    const [rows] =
      key === undefined
        ? await admin.query<mysql.RowDataPacket[]>('SELECT * FROM test.idempotency_keys ORDER BY idempotency_key')
        : await admin.query<mysql.RowDataPacket[]>('SELECT * FROM test.idempotency_keys WHERE idempotency_key = ?', [
            key,
          ]);
    return rows as KeyRow[];
  }

  async function replays(worker: WorkerHandle): Promise<number> {
    const text = (await request(`${worker.url}/metrics`)).text;
    return Number(/^idempotency_replays_total\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? NaN);
  }

  function expectSameAnswer(replay: Reply, first: Reply): void {
    expect(replay.status, replay.text).to.equal(first.status);
    for (const header of ['location', 'etag', 'content-type'])
      expect(replay.headers.get(header), header).to.equal(first.headers.get(header));
    expect(replay.text).to.equal(first.text);
  }

  describe('POST /todos', () => {
    it('replays the first answer to a retry through the other worker, marked, and writes nothing more', async () => {
      const key = newKey();
      const replaysBefore = await replays(b);
      const first = await keyed(`${a.url}/todos`, 'POST', key, { item: 'keyed milk', status: 'pending' });
      expect(first.status, first.text).to.equal(201);
      expect(first.headers.get('idempotent-replayed')).to.equal(null);
      const after = await tableState(admin);

      // The same object serialised with its keys in another order is the same request.
      const retry = await request(`${b.url}/todos`, {
        method: 'POST',
        body: '{ "status": "pending", "item": "keyed milk" }',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
      });
      expectSameAnswer(retry, first);
      expect(retry.headers.get('idempotent-replayed')).to.equal('true');
      expect(retry.headers.get('x-request-id')).to.not.equal(first.headers.get('x-request-id'));
      expect(await tableState(admin)).to.deep.equal(after);
      expect(after.rows.filter((row) => row.item === 'keyed milk')).to.have.length(1);
      expect(await replays(b)).to.equal(replaysBefore + 1);

      const [stored] = await keyRows(key);
      expect(stored).to.include({ response_status: 201 });
      expect(JSON.parse(stored!.response_headers)).to.deep.equal({
        Location: first.headers.get('location'),
        ETag: first.headers.get('etag'),
      });
      expect(JSON.parse(stored!.response_body!)).to.deep.equal(first.body);
    });

    it('answers 422 idempotency_key_mismatch to the key with another body, method or path, writing nothing', async () => {
      const key = newKey();
      const first = await keyed(`${a.url}/todos`, 'POST', key, { item: 'first body' });
      expect(first.status).to.equal(201);
      const id = (first.body as { id: number }).id;
      const before = await tableState(admin);
      const writes = await writeQueryCounts(b.url);
      for (const [method, path, payload] of [
        ['POST', '/todos', { item: 'second body' }],
        ['POST', '/todos', { item: 'first body', status: 'done' }],
        ['PATCH', `/todos/${id}`, { item: 'first body' }],
        ['DELETE', `/todos/${id}`, undefined],
      ] as const) {
        const reply = await keyed(`${b.url}${path}`, method, key, payload);
        expect(reply.status, `${method} ${path}: ${reply.text}`).to.equal(422);
        expect(reply.body).to.include({ error: 'idempotency_key_mismatch' });
        expect((reply.body as { requestId: string }).requestId).to.equal(reply.headers.get('x-request-id'));
      }
      expect(await tableState(admin)).to.deep.equal(before);
      // Each refusal is one transaction that only read the key: no todo statement was run.
      const text = (await request(`${b.url}/metrics`)).text;
      expect(text).to.match(/^idempotency_refusals_total\{reason="mismatch",[^}]*\} [4-9]\d*$/m);
      expect((await writeQueryCounts(b.url)).create_todo).to.equal((writes.create_todo ?? 0) + 2);
    });

    it('answers 409 idempotency_key_in_use at once while another transaction holds the key, then runs once it is free', async () => {
      const key = newKey();
      const holder = await stack().admin();
      try {
        await holder.query('START TRANSACTION');
        await holder.query(
          "INSERT INTO idempotency_keys (idempotency_key, fingerprint, expires_at) VALUES (?, REPEAT('0', 64), NOW() + INTERVAL 1 HOUR)",
          [key],
        );
        const before = await tableState(admin);
        const started = performance.now();
        const busy = await keyed(`${a.url}/todos`, 'POST', key, { item: 'while held' });
        expect(performance.now() - started, 'answered without waiting for the lock').to.be.below(500);
        expect(busy.status, busy.text).to.equal(409);
        expect(busy.headers.get('retry-after')).to.equal('1');
        expect(busy.body).to.include({ error: 'idempotency_key_in_use' });
        expect(await tableState(admin)).to.deep.equal(before);
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
      const free = await keyed(`${a.url}/todos`, 'POST', key, { item: 'while held' });
      expect(free.status, free.text).to.equal(201);
      expect(free.headers.get('idempotent-replayed')).to.equal(null);
    });

    it('refuses bad keys with 400 before any SQL: empty, 256 characters, not printable ASCII, sent twice', async () => {
      const before = await tableState(admin);
      const writes = await writeQueryCounts(a.url);
      const keysBefore = await keyRows();
      const head = (key: string) => `POST /todos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${key}`;
      const cases: [string, Promise<{ status: number; text: string }>][] = [
        ['not_empty', rawRequest(a.port, head('Idempotency-Key:\r\n'), '{"item":"bad key"}')],
        ['not_empty', rawRequest(a.port, head('Idempotency-Key:    \r\n'), '{"item":"bad key"}')],
        ['max_length', rawRequest(a.port, head(`Idempotency-Key: ${'k'.repeat(256)}\r\n`), '{"item":"bad key"}')],
        ['printable_ascii', rawRequest(a.port, head('Idempotency-Key: caf\xe9\r\n'), '{"item":"bad key"}')],
        ['printable_ascii', rawRequest(a.port, head('Idempotency-Key: a\tb\r\n'), '{"item":"bad key"}')],
        ['single', rawRequest(a.port, head('Idempotency-Key: one\r\nIdempotency-Key: two\r\n'), '{"item":"bad key"}')],
        // Refused before the body is read: a bad key with a body that is not JSON is still a key problem.
        ['max_length', rawRequest(a.port, head(`Idempotency-Key: ${'k'.repeat(256)}\r\n`), 'not json')],
      ];
      for (const [rule, pending] of cases) {
        const reply = await pending;
        expect(reply.status, reply.text).to.equal(400);
        expect(JSON.parse(reply.text), reply.text).to.include({
          error: 'bad_request',
          header: 'Idempotency-Key',
          rule,
        });
      }
      const patch = await rawRequest(
        a.port,
        'PATCH /todos/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nIdempotency-Key:\r\n',
        '{"item":"x"}',
      );
      expect(JSON.parse(patch.text)).to.include({ rule: 'not_empty' });
      const del = await rawRequest(a.port, 'DELETE /todos/1 HTTP/1.1\r\nHost: x\r\nIdempotency-Key: \xff\r\n');
      expect(JSON.parse(del.text)).to.include({ rule: 'printable_ascii' });
      expect(await tableState(admin)).to.deep.equal(before);
      expect(await writeQueryCounts(a.url)).to.deep.equal(writes);
      expect(await keyRows()).to.deep.equal(keysBefore);
    });

    it('leaves writes without a key as they were: each POST writes, no key row, no replay header', async () => {
      const keysBefore = (await keyRows()).length;
      const first = await sendJson(`${a.url}/todos`, 'POST', { item: 'unkeyed twice' });
      const second = await sendJson(`${b.url}/todos`, 'POST', { item: 'unkeyed twice' });
      expect([first.status, second.status]).to.deep.equal([201, 201]);
      expect((second.body as { id: number }).id).to.not.equal((first.body as { id: number }).id);
      expect(second.headers.get('idempotent-replayed')).to.equal(null);
      expect((await keyRows()).length).to.equal(keysBefore);
    });
  });

  describe('PATCH and DELETE /todos/:id', () => {
    it("replays a PATCH's answer even after the row changed since, and takes If-Match as part of the request", async () => {
      const { todo, etag } = await createTodo(a.url, { item: 'to patch' });
      const key = newKey();
      const first = await keyed(`${a.url}/todos/${todo.id}`, 'PATCH', key, { status: 'done' }, { 'if-match': etag });
      expect(first.status, first.text).to.equal(200);
      await sendJson(`${a.url}/todos/${todo.id}`, 'PATCH', { item: 'changed by someone else' });

      const retry = await keyed(`${b.url}/todos/${todo.id}`, 'PATCH', key, { status: 'done' }, { 'if-match': etag });
      expectSameAnswer(retry, first);
      expect(retry.headers.get('idempotent-replayed')).to.equal('true');
      expect((await tableState(admin)).rows.find((row) => row.id === todo.id)).to.deep.equal({
        id: todo.id,
        item: 'changed by someone else',
        status: 'done',
      });

      const otherCondition = await keyed(
        `${b.url}/todos/${todo.id}`,
        'PATCH',
        key,
        { status: 'done' },
        { 'if-match': '*' },
      );
      expect(otherCondition.status).to.equal(422);
    });

    it("replays a DELETE's 204 (without a key the retry would be told 404)", async () => {
      const { todo } = await createTodo(a.url, { item: 'to delete' });
      const key = newKey();
      const first = await keyed(`${a.url}/todos/${todo.id}`, 'DELETE', key);
      expect(first.status).to.equal(204);
      const retry = await keyed(`${b.url}/todos/${todo.id}`, 'DELETE', key);
      expect(retry.status).to.equal(204);
      expect(retry.text).to.equal('');
      expect(retry.headers.get('idempotent-replayed')).to.equal('true');
      expect((await request(`${a.url}/todos/${todo.id}`, { method: 'DELETE' })).status).to.equal(404);
    });

    it('stores a 404 or 412 decided in the transaction like any answer, and replays it', async () => {
      const key = newKey();
      const absent = await keyed(`${a.url}/todos/4000000000`, 'PATCH', key, { status: 'done' });
      expect(absent.status).to.equal(404);
      const again = await keyed(`${b.url}/todos/4000000000`, 'PATCH', key, { status: 'done' });
      expect(again.status).to.equal(404);
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
      expect(again.body).to.deep.include({ error: 'not_found', message: (absent.body as { message: string }).message });
      expect((again.body as { requestId: string }).requestId).to.equal(again.headers.get('x-request-id'));

      const { todo } = await createTodo(a.url, { item: 'stale tag' });
      const staleKey = newKey();
      const refused = await keyed(`${a.url}/todos/${todo.id}`, 'DELETE', staleKey, undefined, {
        'if-match': '"stale"',
      });
      expect(refused.status).to.equal(412);
      const replayed = await keyed(`${b.url}/todos/${todo.id}`, 'DELETE', staleKey, undefined, {
        'if-match': '"stale"',
      });
      expect(replayed.status).to.equal(412);
      expect(replayed.headers.get('etag')).to.equal(refused.headers.get('etag'));
      expect(replayed.headers.get('idempotent-replayed')).to.equal('true');
    });

    it('answers 409 to a retry on the other worker while the first request still runs, then replays its answer', async function () {
      this.timeout(40_000);
      const { todo } = await createTodo(a.url, { item: 'raced' });
      const key = newKey();
      const locker = await stack().admin();
      const patient = await stack().addWorker({ DB_LOCK_WAIT_TIMEOUT_SECONDS: '5' });
      try {
        await locker.query('START TRANSACTION');
        await locker.query('SELECT id FROM todos WHERE id = ? FOR UPDATE', [todo.id]);
        // The first PATCH claims the key, then waits for the row lock (up to 5 s).
        const firstPending = keyed(`${patient.url}/todos/${todo.id}`, 'PATCH', key, { status: 'done' });
        await waitFor(
          'the first PATCH to wait for the row lock',
          async () => {
            const [rows] = await admin.query<mysql.RowDataPacket[]>(
              "SELECT 1 FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE '%FROM todos WHERE id = ? FOR UPDATE'",
              [stack().settings.database.appUser],
            );
            return rows.length > 0 ? true : undefined;
          },
          4_000,
          10,
        );
        const retry = await keyed(`${b.url}/todos/${todo.id}`, 'PATCH', key, { status: 'done' });
        expect(retry.status, retry.text).to.equal(409);
        expect(retry.body).to.include({ error: 'idempotency_key_in_use' });
        await locker.query('ROLLBACK');
        const first = await firstPending;
        expect(first.status, first.text).to.equal(200);
        const later = await keyed(`${b.url}/todos/${todo.id}`, 'PATCH', key, { status: 'done' });
        expectSameAnswer(later, first);
        expect(later.headers.get('idempotent-replayed')).to.equal('true');
      } finally {
        await locker.query('ROLLBACK');
        await locker.end();
        await patient.stop();
      }
    });

    it('frees the key when the write fails (503 row_locked): the retry runs it, not a replay', async () => {
      const { todo } = await createTodo(a.url, { item: 'locked' });
      const key = newKey();
      const locker = await stack().admin();
      try {
        await locker.query('START TRANSACTION');
        await locker.query('SELECT id FROM todos WHERE id = ? FOR UPDATE', [todo.id]);
        const failed = await keyed(`${a.url}/todos/${todo.id}`, 'PATCH', key, { status: 'done' });
        expect(failed.status, failed.text).to.equal(503);
        expect(failed.body).to.include({ error: 'row_locked' });
      } finally {
        await locker.query('ROLLBACK');
        await locker.end();
      }
      expect(await keyRows(key)).to.deep.equal([]);
      const retry = await keyed(`${b.url}/todos/${todo.id}`, 'PATCH', key, { status: 'done' });
      expect(retry.status, retry.text).to.equal(200);
      expect(retry.headers.get('idempotent-replayed')).to.equal(null);
      expect(retry.body).to.deep.equal({ id: todo.id, item: 'locked', status: 'done' });
    });
  });

  describe('expiry (IDEMPOTENCY_KEY_TTL_SECONDS)', () => {
    let shortLived: WorkerHandle;
    before(async function () {
      this.timeout(30_000);
      shortLived = await stack().addWorker({ IDEMPOTENCY_KEY_TTL_SECONDS: '1' });
    });
    after(async () => {
      await shortLived?.stop();
    });

    it('lets an expired key be used again, for any request', async () => {
      const key = newKey();
      const first = await keyed(`${shortLived.url}/todos`, 'POST', key, { item: 'short-lived' });
      expect(first.status).to.equal(201);
      const [row] = await admin.query<mysql.RowDataPacket[]>(
        'SELECT TIMESTAMPDIFF(MICROSECOND, created_at, expires_at) / 1e6 AS ttl FROM idempotency_keys WHERE idempotency_key = ?',
        [key],
      );
      expect(Number(row[0]!.ttl)).to.equal(1);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const reused = await keyed(`${shortLived.url}/todos`, 'POST', key, { item: 'another request' });
      expect(reused.status, reused.text).to.equal(201);
      expect(reused.headers.get('idempotent-replayed')).to.equal(null);
      expect((reused.body as { id: number }).id).to.not.equal((first.body as { id: number }).id);
      const replayed = await keyed(`${a.url}/todos`, 'POST', key, { item: 'another request' });
      expect(replayed.headers.get('idempotent-replayed')).to.equal('true');
    });

    it('purges expired keys in batches of 100 from the keyed writes themselves, leaving live keys', async () => {
      await admin.query("DELETE FROM idempotency_keys WHERE idempotency_key LIKE 'expired-%'");
      const expired = Array.from({ length: 150 }, (_, i) => `expired-${String(i).padStart(3, '0')}`);
      await admin.query<ResultSetHeader>(
        'INSERT INTO idempotency_keys (idempotency_key, fingerprint, response_status, response_headers, expires_at) VALUES ?',
        [expired.map((key, i) => [key, '0'.repeat(64), 204, '{}', new Date(Date.now() - 3_600_000 + i)])],
      );
      // Keys that stay live throughout (an earlier test's 1 s keys may expire, and be purged, meanwhile).
      const [liveRows] = await admin.query<mysql.RowDataPacket[]>(
        "SELECT idempotency_key FROM idempotency_keys WHERE idempotency_key NOT LIKE 'expired-%' AND expires_at > NOW(3) + INTERVAL 5 MINUTE",
      );
      const live = liveRows.map((row) => row.idempotency_key as string);
      const countExpired = async () =>
        Number(
          (
            await admin.query<mysql.RowDataPacket[]>(
              "SELECT COUNT(*) AS n FROM idempotency_keys WHERE idempotency_key LIKE 'expired-%'",
            )
          )[0][0]!.n,
        );

      // A worker that has not purged yet purges after its first keyed write: one batch, the oldest first.
      const fresh = await stack().addWorker();
      try {
        expect((await keyed(`${fresh.url}/todos`, 'POST', newKey(), { item: 'purger' })).status).to.equal(201);
        await waitFor(
          'the first batch to be purged',
          async () => ((await countExpired()) === 50 ? true : undefined),
          5_000,
        );
        const [left] = await admin.query<mysql.RowDataPacket[]>(
          "SELECT MIN(idempotency_key) AS first FROM idempotency_keys WHERE idempotency_key LIKE 'expired-%'",
        );
        expect(left[0]!.first).to.equal('expired-100');
        // A full batch means a backlog: the next keyed write purges again at once.
        expect((await keyed(`${fresh.url}/todos`, 'POST', newKey(), { item: 'purger' })).status).to.equal(201);
        await waitFor('the rest to be purged', async () => ((await countExpired()) === 0 ? true : undefined), 5_000);
        const kept = (await keyRows()).map((row) => row.idempotency_key);
        expect(kept).to.include.members(live);
      } finally {
        await fresh.stop();
      }
    });
  });
});
