// What a client sees when things break, on a stack of its own (these tests kill HAProxy and MariaDB):
// a worker with a small pool queue (2) and a short acquire timeout (1 s). Every failure must be a
// definite, safe answer (503 with Retry-After, or 504), the worker must stay up, and it must recover.
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { request, type Reply } from '../support/http';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';
import type { WorkerHandle } from '../support/worker';

const SAFE_MESSAGE_FORBIDDEN = /\bSELECT\b|\bFROM\b|\n\s+at |\.ts:\d+|ER_[A-Z_]+|PROTOCOL_|ECONN/;

/** A JSON error with exactly `error` and `message`, a message free of SQL, stack frames and driver codes. */
function expectSafeError(reply: Reply, status: number, error: string, message: string | RegExp): void {
  expect(reply.status, reply.text).to.equal(status);
  expect(reply.headers.get('content-type')).to.equal('application/json; charset=utf-8');
  const body = reply.body as Record<string, unknown>;
  expect(body).to.have.all.keys('error', 'message', 'requestId');
  expect(body.requestId).to.equal(reply.headers.get('x-request-id'));
  expect(body.error).to.equal(error);
  if (typeof message === 'string') expect(body.message).to.equal(message);
  else expect(body.message).to.match(message);
  expect(reply.text).to.not.match(SAFE_MESSAGE_FORBIDDEN);
}

function expectRetryAfter(reply: Reply, seconds: string): void {
  expect(reply.headers.get('retry-after')).to.equal(seconds);
}

describe('worker faults', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let worker: WorkerHandle;
  let pid: number | undefined;
  const url = (path: string) => `${worker.url}${path}`;
  const measured: Record<string, number> = {};

  before(async () => {
    stack = await startTestStack({ workers: 1, workerEnv: { DB_ACQUIRE_TIMEOUT_MS: '1000', DB_QUEUE_LIMIT: '2' } });
    worker = stack.workers[0]!;
    pid = worker.child.pid;
  });

  /** What a test killed and has not restarted yet: restarted after a failure so the next test has it. */
  let down: { restart(): Promise<void> } | undefined;
  afterEach(async () => {
    await down?.restart();
    down = undefined;
  });

  after(async () => {
    if (Object.keys(measured).length > 0) console.log(`      measured (ms): ${JSON.stringify(measured)}`);
    await stack?.stop();
  });

  /** The worker is still the process we started: no crash, no restart. */
  function expectWorkerAlive(handle: WorkerHandle = worker): void {
    expect(handle.child.exitCode, handle.output()).to.equal(null);
    expect(handle.child.signalCode).to.equal(null);
    expect(handle.child.pid).to.equal(handle === worker ? pid : handle.child.pid);
  }

  async function expectPoolIdle(handle: WorkerHandle = worker): Promise<Record<string, unknown>> {
    // HAProxy's front door checks every worker's /readyz each second, and an idle worker answers it with
    // a 1 ms SELECT 1: give such a probe its moment rather than catch it holding the connection.
    const idle = await waitFor(
      'the pool to be idle',
      async () => {
        const pool = (await request(`${handle.url}/pool`)).body as Record<string, unknown>;
        return pool.used === 0 && pool.pending === 0 ? pool : undefined;
      },
      3_000,
      20,
    ).catch(() => undefined);
    const pool = idle ?? ((await request(`${handle.url}/pool`)).body as Record<string, unknown>);
    expect(pool).to.include({ used: 0, pending: 0 });
    return pool;
  }

  /** Polls GET /todos until it answers 200; returns how long that took. */
  async function recovery(what: string, timeoutMs: number): Promise<number> {
    const started = performance.now();
    const reply = await waitFor(
      `GET /todos to answer 200 after ${what}`,
      async () => {
        const r = await request(url('/todos'), { signal: AbortSignal.timeout(5_000) });
        return r.status === 200 ? r : undefined;
      },
      timeoutMs,
      100,
    );
    expect(reply.body).to.deep.equal({ 1: { item: 'task1', status: 'pending' }, 2: { item: 'task2', status: 'done' } });
    return performance.now() - started;
  }

  async function waitForPool(expected: Record<string, number>, timeoutMs = 3_000): Promise<void> {
    await waitFor(
      `the pool to reach ${JSON.stringify(expected)}`,
      async () => {
        const pool = (await request(url('/pool'))).body as Record<string, number>;
        return Object.entries(expected).every(([key, value]) => pool[key] === value) ? true : undefined;
      },
      timeoutMs,
    );
  }

  describe('when HAProxy is killed', () => {
    it('answers GET /todos with 503 database_unavailable within 3 s, stays live, and recovers when HAProxy is back', async () => {
      expect((await request(url('/todos'))).status).to.equal(200);

      stack.haproxy.kill();
      down = stack.haproxy;
      const killedAt = performance.now();
      // The first request after the kill may still find the old HAProxy alive for a moment.
      const reply = await waitFor(
        'GET /todos to fail',
        async () => {
          const r = await request(url('/todos'), { signal: AbortSignal.timeout(5_000) });
          return r.status === 200 ? undefined : r;
        },
        3_000,
        10,
      );
      measured.haproxyKillTo503 = Math.round(performance.now() - killedAt);
      expectSafeError(reply, 503, 'database_unavailable', 'The database is not reachable through HAProxy right now.');
      expectRetryAfter(reply, '1');
      expect(measured.haproxyKillTo503).to.be.below(3_000);

      // Once HAProxy is gone for sure, each request fails fast: connect is refused twice (one retry).
      const again = performance.now();
      const second = await request(url('/todos'));
      measured.haproxyDown503Request = Math.round(performance.now() - again);
      expectSafeError(second, 503, 'database_unavailable', 'The database is not reachable through HAProxy right now.');
      expect(measured.haproxyDown503Request).to.be.below(3_000);

      const health = await request(url('/healthz'));
      expect(health.status).to.equal(200);
      expect(health.body).to.deep.equal({ status: 'ok' });
      const ready = await request(url('/readyz'));
      expectSafeError(ready, 503, 'not_ready', 'The database is not reachable through HAProxy.');
      expectRetryAfter(ready, '1');
      const pool = await expectPoolIdle();
      expect(pool).to.include({ open: 0, idle: 0, created: 1 });
      // HAProxy's sockets were closed by the kernel: either the pool saw its peer hang up (remote), or
      // the first request after the kill got there first and closed the dead connection (destroyed).
      const closed = pool.closed as Record<string, number>;
      expect(closed.remote! + closed.destroyed!).to.equal(1);
      expect(closed).to.include({ error: 0, shutdown: 0 });

      const restartedAt = performance.now();
      await stack.haproxy.restart();
      down = undefined;
      measured.haproxyRestart = Math.round(performance.now() - restartedAt);
      measured.haproxyRecovery = Math.round(await recovery('the HAProxy restart', 5_000));
      expect((await request(url('/readyz'))).status).to.equal(200);
      await expectPoolIdle();
      expectWorkerAlive();
    });
  });

  describe('when MariaDB is killed (SIGKILL) and restarted', () => {
    it('answers GET /todos with 503 database_unavailable, stays live, and recovers', async () => {
      expect((await request(url('/todos'))).status).to.equal(200);

      stack.mariadb.kill();
      down = stack.mariadb;
      const killedAt = performance.now();
      const reply = await waitFor(
        'GET /todos to fail',
        async () => {
          const r = await request(url('/todos'), { signal: AbortSignal.timeout(10_000) });
          return r.status === 200 ? undefined : r;
        },
        8_000,
        10,
      );
      measured.mariadbKillTo503 = Math.round(performance.now() - killedAt);
      expectSafeError(reply, 503, 'database_unavailable', 'The database is not reachable through HAProxy right now.');
      expectRetryAfter(reply, '1');
      // HAProxy still accepts, then closes once it cannot reach the server: bounded by its
      // `timeout connect` and `retries`, twice (the read is retried once), well within the
      // worker's 3 s connect timeout.
      expect(measured.mariadbKillTo503).to.be.below(5_000);
      expect((await request(url('/healthz'))).status).to.equal(200);
      expectSafeError(
        await request(url('/readyz')),
        503,
        'not_ready',
        'The database is not reachable through HAProxy.',
      );
      // /readyz may have given up on its probe (2 s) while that probe's connect is still failing
      // (DB_CONNECT_TIMEOUT_MS, 3 s) on a loaded machine: wait for it to end.
      await waitForPool({ used: 0, pending: 0 }, 8_000);
      const pool = await expectPoolIdle();
      expect(pool).to.include({ open: 0, idle: 0, created: 2 });
      const closed = pool.closed as Record<string, number>;
      expect(closed.remote! + closed.destroyed!).to.equal(2);
      expect(closed).to.include({ error: 0, shutdown: 0 });

      const restartedAt = performance.now();
      await stack.mariadb.restart();
      down = undefined;
      measured.mariadbRestart = Math.round(performance.now() - restartedAt);
      // HAProxy marks the server UP after `rise 2` checks at `downinter 1s`.
      measured.mariadbRecovery = Math.round(await recovery('the MariaDB restart', 10_000));
      await expectPoolIdle();
      expectWorkerAlive();
    });
  });

  describe('a burst beyond the pool queue (DB_QUEUE_LIMIT 2)', () => {
    it('answers the request beyond the queue with 503 pool_queue_full at once, with Retry-After: 1', async () => {
      const holder = request(url('/sleep/2'));
      await waitForPool({ used: 1 });
      const queued = [request(url('/todos')), request(url('/todos'))];
      await waitForPool({ used: 1, pending: 2 });

      const started = performance.now();
      const refused = await request(url('/todos'));
      measured.queueFull503 = Math.round(performance.now() - started);
      expectSafeError(refused, 503, 'pool_queue_full', "The connection pool's wait queue is full (2 waiting).");
      expectRetryAfter(refused, '1');
      expect(measured.queueFull503).to.be.below(200);

      // The two queued ones wait out the 1 s acquire timeout behind the 2 s sleep.
      for (const reply of await Promise.all(queued)) {
        expectSafeError(reply, 503, 'pool_timeout', 'No database connection became free within 1000 ms.');
        expectRetryAfter(reply, '1');
      }
      const held = await holder;
      expect(held.status).to.equal(200);
      expect(held.body).to.deep.equal({ slept: 2 });
      const pool = await expectPoolIdle();
      expect(pool.rejected).to.deep.equal({ queue_full: 1, timeout: 2 });
      expectWorkerAlive();
    });
  });

  describe('a request that waits longer than DB_ACQUIRE_TIMEOUT_MS', () => {
    it('answers 503 pool_timeout after about 1 s', async () => {
      const holder = request(url('/sleep/2'));
      await waitForPool({ used: 1 });
      const started = performance.now();
      const reply = await request(url('/todos'));
      measured.poolTimeout503 = Math.round(performance.now() - started);
      expectSafeError(reply, 503, 'pool_timeout', 'No database connection became free within 1000 ms.');
      expectRetryAfter(reply, '1');
      expect(measured.poolTimeout503).to.be.at.least(950).and.below(1_800);
      expect((await holder).status).to.equal(200);
      await expectPoolIdle();
      expectWorkerAlive();
    });
  });

  describe('a query slower than DB_QUERY_TIMEOUT_MS', () => {
    let admin: mysql.Connection | undefined;
    let slowWorker: WorkerHandle;

    before(async () => {
      // /sleep is capped at 1 s and row-lock waits at 1 s here, so a 1.5 s query timeout is valid configuration.
      slowWorker = await stack.addWorker({
        SLEEP_MAX_SECONDS: '1',
        DB_QUERY_TIMEOUT_MS: '1500',
        DB_LOCK_WAIT_TIMEOUT_SECONDS: '1',
      });
    });

    after(async () => {
      await admin?.query('UNLOCK TABLES').catch(() => undefined);
      await admin?.end();
    });

    it('answers 504 query_timeout when the server stops the statement, and keeps the connection', async () => {
      expect((await request(`${slowWorker.url}/todos`)).status).to.equal(200);
      admin = await stack.admin();
      // A write lock held by another session blocks every read of the table.
      await admin.query('LOCK TABLES todos WRITE');

      const started = performance.now();
      const reply = await request(`${slowWorker.url}/todos`);
      measured.queryTimeout504 = Math.round(performance.now() - started);
      expectSafeError(
        reply,
        504,
        'query_timeout',
        'Query "list_todos" did not finish within 1500 ms; the database stopped it.',
      );
      expect(reply.headers.get('retry-after')).to.equal(null);
      expect(measured.queryTimeout504).to.be.at.least(1_450).and.below(2_500);

      // MariaDB's max_statement_time interrupted the lock wait: nothing is left running on the server
      // and the one connection is still the same, idle and reusable.
      const pool = await expectPoolIdle(slowWorker);
      expect(pool).to.deep.include({ open: 1, idle: 1, created: 1 });
      expect(pool.closed).to.deep.equal({ error: 0, destroyed: 0, remote: 0, shutdown: 0 });
      const [waiting] = await admin.query(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT id, item, status FROM todos%'",
      );
      expect((waiting as { n: number }[])[0]!.n).to.equal(0);
      // Statements that do not touch the locked table go through on the same connection meanwhile.
      const sleep = await request(`${slowWorker.url}/sleep/0`);
      expect(sleep.status).to.equal(200);

      await admin.query('UNLOCK TABLES');
      const after = await request(`${slowWorker.url}/todos`);
      expect(after.status).to.equal(200);
      expect(after.body).to.deep.equal({
        1: { item: 'task1', status: 'pending' },
        2: { item: 'task2', status: 'done' },
      });
      expect(await expectPoolIdle(slowWorker)).to.include({ open: 1, idle: 1, created: 1 });
      expectWorkerAlive(slowWorker);
    });
  });
});
