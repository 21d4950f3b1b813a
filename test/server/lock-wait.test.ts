// A write that meets a row locked by someone else's transaction waits at most DB_LOCK_WAIT_TIMEOUT_SECONDS
// (not InnoDB's 50 s default, holding the worker's only connection), then gets a clear 503, changes nothing,
// and the worker goes on serving.
import { expect } from 'chai';
import type { ResultSetHeader } from 'mysql2';
import { request, sendJson } from '../support/http';
import { sharedStack } from '../support/stack';

describe('PATCH /todos/:id on a row another transaction holds locked', function () {
  this.timeout(30_000);

  it('answers 503 row_locked with Retry-After after the lock wait timeout, and changes nothing', async () => {
    const stack = await sharedStack();
    const worker = await stack.addWorker({ DB_LOCK_WAIT_TIMEOUT_SECONDS: '1' });
    const admin = await stack.admin();
    const locker = await stack.admin();
    let id = 0;
    try {
      const [inserted] = await admin.query<ResultSetHeader>(
        "INSERT INTO todos (item, status) VALUES ('locked row', 'pending')",
      );
      id = inserted.insertId;
      await locker.query('START TRANSACTION');
      await locker.query('SELECT * FROM todos WHERE id = ? FOR UPDATE', [id]);

      const started = performance.now();
      const reply = await sendJson(`${worker.url}/todos/${id}`, 'PATCH', { status: 'done' });
      const elapsed = performance.now() - started;
      expect(reply.status).to.equal(503);
      expect(reply.headers.get('retry-after')).to.equal('1');
      expect(reply.body).to.deep.equal({
        error: 'row_locked',
        message: 'The row is locked by another transaction; nothing was changed. Retry shortly.',
        requestId: reply.headers.get('x-request-id'),
      });
      expect(elapsed).to.be.at.least(900).and.below(3_000);

      await locker.query('ROLLBACK');
      const [rows] = await admin.query('SELECT item, status FROM todos WHERE id = ?', [id]);
      expect(rows).to.deep.equal([{ item: 'locked row', status: 'pending' }]);
      // The connection went back to the pool and serves the same write now that the lock is gone.
      const retry = await sendJson(`${worker.url}/todos/${id}`, 'PATCH', { status: 'done' });
      expect(retry.status).to.equal(200);
      expect((await request(`${worker.url}/pool`)).body).to.include({ used: 0, open: 1, created: 1 });
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      if (id) await admin.query('DELETE FROM todos WHERE id = ?', [id]);
      await locker.end();
      await admin.end();
      await worker.stop();
    }
  });
});
