// A client that gives up on a long read must not cost the worker its only connection for the rest of
// that read: the worker has the server stop the statement (KILL QUERY over a short side connection, the
// app's own account through HAProxy) and keeps the pooled connection. On a stack of its own, so the
// process list holds this worker's connection alone.
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { request } from '../support/http';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';
import type { WorkerHandle } from '../support/worker';

function counter(metrics: string, pattern: RegExp): number {
  const match = metrics.match(pattern);
  return match ? Number(match[1]) : 0;
}

interface Session {
  id: number;
  command: string;
  info: string | null;
}

describe('a client that leaves GET /sleep/30 after 1 s', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let worker: WorkerHandle;
  let admin: mysql.Connection;
  const measured: Record<string, number> = {};

  before(async () => {
    stack = await startTestStack({ workers: 1 });
    worker = stack.workers[0]!;
    admin = await stack.admin();
  });

  after(async () => {
    console.log(`      measured (ms): ${JSON.stringify(measured)}`);
    await admin?.end();
    await stack?.stop();
  });

  async function appSessions(): Promise<Session[]> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT ID AS id, COMMAND AS command, INFO AS info FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID',
      [stack.settings.database.appUser],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      command: String(row.command),
      info: row.info === null ? null : String(row.info),
    }));
  }

  it('has the statement stopped on the server: the next GET /todos answers 200 within 1 s on the same, idle connection', async () => {
    const controller = new AbortController();
    const abandoned = request(`${worker.url}/sleep/30`, { signal: controller.signal }).catch(
      (error: Error) => error.name,
    );
    const [sleeping] = await waitFor(
      'the SLEEP to run on the server',
      async () => {
        const sessions = await appSessions();
        return sessions.some((s) => /SLEEP/i.test(s.info ?? '')) ? sessions : undefined;
      },
      3_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    controller.abort();
    const droppedAt = performance.now();
    expect(await abandoned).to.equal('AbortError');

    const next = await request(`${worker.url}/todos`, { signal: AbortSignal.timeout(15_000) });
    measured.dropToNext200 = Math.round(performance.now() - droppedAt);
    expect(next.status, next.text).to.equal(200);
    expect(measured.dropToNext200).to.be.below(1_000);

    // The side connection is gone at once; the worker's one connection is the same thread, idle, and
    // nothing of the abandoned SLEEP runs on.
    const sessions = await waitFor(
      'the side connection to close',
      async () => {
        const now = await appSessions();
        return now.length === 1 ? now : undefined;
      },
      1_000,
    );
    expect(sessions).to.deep.equal([{ id: sleeping!.id, command: 'Sleep', info: null }]);

    const pool = (await request(`${worker.url}/pool`)).body as Record<string, unknown>;
    expect(pool).to.include({ used: 0, idle: 1, pending: 0, open: 1, created: 1 });
    expect(pool.closed).to.deep.equal({ error: 0, destroyed: 0, remote: 0, shutdown: 0 });
    const metrics = (await request(`${worker.url}/metrics`)).text;
    expect(
      counter(metrics, /^db_query_cancellations_total\{reason="client_gone",result="killed"[^}]*\} (\d+)$/m),
    ).to.equal(1);
    expect(
      counter(metrics, /^db_query_duration_seconds_count\{[^}]*query="sleep",outcome="cancelled"\} (\d+)$/m),
    ).to.equal(1);
    // Stopped for a client that left: neither a query error nor a retry on a new connection.
    expect(metrics).not.to.match(/^db_query_errors_total\{[^}]*query="sleep"/m);
    expect(
      counter(metrics, /^http_requests_total\{method="GET",route="\/sleep\/:s",status="499"[^}]*\} (\d+)$/m),
    ).to.equal(1);
  });

  it('lets a write run to its end when its client leaves', async () => {
    // A POST is received whole before it runs; its client leaving does not stop it, so the row exists.
    const controller = new AbortController();
    const item = `written after the client left ${Date.now()}`;
    const [locker] = [await stack.admin()];
    try {
      // Hold the insert in a lock wait, so the client can leave while it runs on the server.
      await locker.query('LOCK TABLES todos WRITE');
      const posted = request(`${worker.url}/todos`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item }),
        signal: controller.signal,
      }).catch((error: Error) => error.name);
      await waitFor(
        'the INSERT to wait for the table lock',
        async () => ((await appSessions()).some((s) => /^INSERT/.test(s.info ?? '')) ? true : undefined),
        3_000,
      );
      controller.abort();
      expect(await posted).to.equal('AbortError');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await locker.query('UNLOCK TABLES');
    } finally {
      await locker.end();
    }
    const stored = await waitFor(
      'the row to be stored',
      async () => {
        const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM todos WHERE item = ?', [
          item,
        ]);
        return Number(rows[0]!.n) === 1 ? true : undefined;
      },
      3_000,
    );
    expect(stored).to.equal(true);
    const metrics = (await request(`${worker.url}/metrics`)).text;
    expect(
      counter(metrics, /^db_query_cancellations_total\{reason="client_gone",result="killed"[^}]*\} (\d+)$/m),
    ).to.equal(1);
  });
});
