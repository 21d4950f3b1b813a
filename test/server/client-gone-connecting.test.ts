// A read whose client leaves while the pool is still opening its connection (the old one was killed, the
// proxy is slow) must not run once the connection arrives: nobody reads its answer, and it would hold the
// worker's only connection. On a stack of its own: the test pauses HAProxy.
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

describe('a client that goes away while the pool connects', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let worker: WorkerHandle;
  let admin: mysql.Connection;

  before(async () => {
    stack = await startTestStack({ workers: 1, workerEnv: { DB_ACQUIRE_TIMEOUT_MS: '1000' } });
    worker = stack.workers[0]!;
    admin = await stack.admin();
  });

  afterEach(() => stack.haproxy.resume());

  after(async () => {
    await admin?.end();
    await stack?.stop();
  });

  const pool = async () => (await request(`${worker.url}/pool`)).body as Record<string, number>;

  async function appStatements(): Promise<string[]> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT INFO FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO IS NOT NULL',
      [stack.settings.database.appUser],
    );
    return rows.map((row) => String(row.INFO));
  }

  it('never sends its statement once the connection arrives, answers 499, and leaves the connection free', async () => {
    expect((await request(`${worker.url}/todos`)).status).to.equal(200);
    const [sessions] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?',
      [stack.settings.database.appUser],
    );
    for (const session of sessions) await admin.query(`KILL ${Number(session.ID)}`);
    await waitFor(
      'the pool to notice its connection is gone',
      async () => ((await pool()).open === 0 ? true : undefined),
      3_000,
    );

    stack.haproxy.pause();
    const controller = new AbortController();
    const abandoned = request(`${worker.url}/sleep/5`, { signal: controller.signal }).catch(
      (error: Error) => error.name,
    );
    await waitFor('the request to be connecting', async () => ((await pool()).pending === 1 ? true : undefined), 1_000);
    controller.abort();
    expect(await abandoned).to.equal('AbortError');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Well within the worker's 3 s connect timeout, so the connect succeeds.
    stack.haproxy.resume();

    await waitFor('the connect to finish', async () => ((await pool()).pending === 0 ? true : undefined), 3_000);
    // Time enough for a statement sent on the new connection to show up on the server.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await pool()).to.include({ used: 0, pending: 0, open: 1, idle: 1 });
    expect(await appStatements()).to.deep.equal([]);

    const started = performance.now();
    const next = await request(`${worker.url}/todos`);
    expect(next.status, next.text).to.equal(200);
    expect(performance.now() - started).to.be.below(500);

    const metrics = (await request(`${worker.url}/metrics`)).text;
    expect(
      counter(metrics, /^http_requests_total\{method="GET",route="\/sleep\/:s",status="499"[^}]*\} (\d+)$/m),
    ).to.equal(1);
    expect(metrics).not.to.match(/^http_requests_total\{method="GET",route="\/sleep\/:s",status="200"/m);
    expect(metrics).not.to.match(/^db_query_duration_seconds_count\{[^}]*query="sleep"/m);
  });
});
