// DbPool and Db against a real MariaDB (a throwaway mariadbd, migrated, reached directly over TCP as the
// app user): the pool's own counters at each step, what its DbObserver is told, and how it recovers.
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { Db } from '../../../server/db/db';
import { QueryTimeoutError } from '../../../server/db/errors';
import { GateRejectedError } from '../../../server/db/gate';
import { DbPool, type PoolOptions } from '../../../server/db/pool';
import { freePort } from '../../../cluster/free-port';
import { RecordingObserver } from '../../support/recording-observer';
import { useMigratedMariaDb } from '../../support/migrated-mariadb';
import { waitFor } from '../../support/wait';

async function refusal(promise: Promise<unknown>): Promise<GateRejectedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the pool should have refused').to.be.instanceOf(GateRejectedError);
  return error as GateRejectedError;
}

describe('DbPool and Db on a real MariaDB', function () {
  this.timeout(30_000);
  let pool: DbPool | undefined;
  const database = useMigratedMariaDb('pool-test', undefined);

  afterEach(async () => {
    await pool?.end();
    pool = undefined;
  });

  function open(overrides: Partial<PoolOptions> = {}, queryTimeoutMs = 10_000) {
    const observer = new RecordingObserver();
    pool = new DbPool(
      {
        host: '127.0.0.1',
        port: database.mariadb.port,
        user: database.settings.database.appUser,
        password: database.settings.database.appPassword,
        database: 'test',
        limit: 1,
        queueLimit: 10,
        acquireTimeoutMs: 10_000,
        connectTimeoutMs: 3_000,
        ...overrides,
      },
      observer,
    );
    return { pool, db: new Db(pool, observer, queryTimeoutMs), observer };
  }

  /** The app user's sessions as the server sees them. */
  async function appSessions(): Promise<{ id: number; state: string | null; info: string | null }[]> {
    const [rows] = await database.admin.query<mysql.RowDataPacket[]>(
      'SELECT ID AS id, STATE AS state, INFO AS info FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID',
      [database.settings.database.appUser],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      state: row.state as string | null,
      info: row.info as string | null,
    }));
  }

  /** Resolves once the server runs a SLEEP for the app user, i.e. the pool's connection is busy. */
  const sleeping = () =>
    waitFor(
      'the SLEEP to run on the server',
      async () => ((await appSessions()).some((s) => s.info?.includes('SLEEP')) ? true : undefined),
      3_000,
    );

  const connectionId = (db: Db, name = 'connection_id', idempotent = false) =>
    db
      .query<{ id: number }[]>(name, 'SELECT CONNECTION_ID() AS id', [], { idempotent })
      .then((rows) => Number(rows[0]!.id));

  describe('stats()', () => {
    it('is exact before first use, after a query, while a SLEEP holds the connection, and after', async () => {
      const { pool, db, observer } = open();
      expect(pool.stats()).to.deep.equal({
        limit: 1,
        used: 0,
        idle: 0,
        pending: 0,
        open: 0,
        queueLimit: 10,
        acquireTimeoutMs: 10_000,
        created: 0,
        closed: { error: 0, destroyed: 0, remote: 0, shutdown: 0 },
        rejected: { queue_full: 0, timeout: 0 },
      });
      expect(await appSessions()).to.have.length(0);

      expect(await db.query('one', 'SELECT 1 AS one')).to.deep.equal([{ one: 1 }]);
      expect(pool.stats()).to.include({ used: 0, idle: 1, pending: 0, open: 1, created: 1 });
      expect(await appSessions()).to.have.length(1);

      const slow = db.query('sleep', 'SELECT SLEEP(?) AS slept', [0.6]);
      const queued = db.query('one', 'SELECT 1 AS one');
      await sleeping();
      expect(pool.stats()).to.include({ used: 1, idle: 0, pending: 1, open: 1, created: 1 });

      expect(await slow).to.deep.equal([{ slept: 0 }]);
      expect(await queued).to.deep.equal([{ one: 1 }]);
      expect(pool.stats()).to.deep.include({
        used: 0,
        idle: 1,
        pending: 0,
        open: 1,
        created: 1,
        closed: { error: 0, destroyed: 0, remote: 0, shutdown: 0 },
        rejected: { queue_full: 0, timeout: 0 },
      });
      expect(await appSessions()).to.have.length(1);
      expect(observer.events).to.deep.equal([
        ['connectionCreated'],
        ['acquired'],
        ['queryFinished', 'one', 'ok'],
        ['released'],
        ['acquired'],
        ['queryFinished', 'sleep', 'ok'],
        ['released'],
        ['acquired'],
        ['queryFinished', 'one', 'ok'],
        ['released'],
      ]);
    });
  });

  describe('acquire() while the connection is in use', () => {
    it('hands the one connection to the queued waiters in arrival order', async () => {
      const { pool, db, observer } = open();
      const holderId = await connectionId(db, 'first');
      const slow = db.query('sleep', 'SELECT SLEEP(0.4)');
      const finished: string[] = [];
      const waiters = ['a', 'b', 'c'].map((name) => connectionId(db, name).then((id) => (finished.push(name), id)));
      await sleeping();
      expect(pool.stats()).to.include({ used: 1, idle: 0, pending: 3, open: 1 });
      await slow;
      const ids = [holderId, ...(await Promise.all(waiters))];
      expect(new Set(ids).size, 'every query ran on the same connection').to.equal(1);
      expect(finished).to.deep.equal(['a', 'b', 'c']);
      expect(pool.stats()).to.include({ used: 0, idle: 1, pending: 0, open: 1, created: 1 });
      expect(observer.count('connectionCreated')).to.equal(1);
      expect(observer.count('acquired')).to.equal(5);
      // The waiters waited for the SLEEP: each recorded wait is at least its 0.4 s, less the time the
      // test took to see it running.
      const waits = observer.waits.slice(2);
      expect(
        waits.every((s) => s >= 0.3),
        `waits ${waits.join(', ')}`,
      ).to.equal(true);
    });
  });

  describe('acquire() when nothing frees within acquireTimeoutMs', () => {
    it('refuses with GateRejectedError timeout and counts rejected.timeout once', async () => {
      const { pool, db, observer } = open({ acquireTimeoutMs: 200 });
      const slow = db.query('sleep', 'SELECT SLEEP(1)');
      await sleeping();
      const started = performance.now();
      const error = await refusal(db.query('one', 'SELECT 1', [], { idempotent: true }));
      const waited = performance.now() - started;
      expect(error.reason).to.equal('timeout');
      expect(error.message).to.equal('No database connection became free within 200 ms.');
      expect(waited).to.be.at.least(190).and.below(600);
      expect(pool.stats()).to.deep.include({ used: 1, pending: 0, rejected: { queue_full: 0, timeout: 1 } });
      await slow;
      expect(pool.stats()).to.include({ used: 0, idle: 1, pending: 0 });
      expect(observer.events).to.deep.equal([
        ['connectionCreated'],
        ['acquired'],
        ['rejected', 'timeout'],
        ['queryFinished', 'sleep', 'ok'],
        ['released'],
      ]);
    });
  });

  describe('acquire() when the wait queue is full', () => {
    it('refuses the one beyond queueLimit at once with queue_full', async () => {
      const { pool, db, observer } = open({ queueLimit: 1 });
      const slow = db.query('sleep', 'SELECT SLEEP(0.5)');
      const queued = db.query('one', 'SELECT 1 AS one');
      const started = performance.now();
      const error = await refusal(db.query('one', 'SELECT 1 AS one'));
      expect(performance.now() - started).to.be.below(50);
      expect(error.reason).to.equal('queue_full');
      expect(error.message).to.equal("The connection pool's wait queue is full (1 waiting).");
      expect(pool.stats()).to.deep.include({ pending: 2, rejected: { queue_full: 1, timeout: 0 } });
      await Promise.all([slow, queued]);
      expect(pool.stats()).to.deep.include({
        used: 0,
        idle: 1,
        pending: 0,
        open: 1,
        rejected: { queue_full: 1, timeout: 0 },
      });
      expect(observer.count('rejected', 'queue_full')).to.equal(1);
      expect(observer.count('acquired')).to.equal(2);
    });
  });

  describe('a connection the server kills while it is idle', () => {
    it('is counted as closed, and the next read opens a new connection', async () => {
      const { pool, db, observer } = open();
      const firstId = await connectionId(db);
      const sessions = await appSessions();
      expect(sessions.map((s) => s.id)).to.deep.equal([firstId]);

      await database.admin.query(`KILL ${firstId}`);
      await waitFor('the pool to see the close', () => (pool.stats().open === 0 ? true : undefined), 2_000);
      // The server hung up an idle connection: 'remote', not 'error' (mysql2 reports it as a
      // PROTOCOL_CONNECTION_LOST error on the connection, which the pool once counted as 'error').
      expect(pool.stats()).to.deep.include({
        used: 0,
        idle: 0,
        pending: 0,
        open: 0,
        created: 1,
        closed: { error: 0, destroyed: 0, remote: 1, shutdown: 0 },
      });

      const secondId = await connectionId(db, 'connection_id', true);
      expect(secondId).to.not.equal(firstId);
      expect(pool.stats()).to.include({ used: 0, idle: 1, pending: 0, open: 1, created: 2 });
      expect((await appSessions()).map((s) => s.id)).to.deep.equal([secondId]);

      expect(observer.events).to.deep.equal([
        ['connectionCreated'],
        ['acquired'],
        ['queryFinished', 'connection_id', 'ok'],
        ['released'],
        ['connectionClosed', 'remote'],
        ['connectionCreated'],
        ['acquired'],
        ['queryFinished', 'connection_id', 'ok'],
        ['released'],
      ]);
    });
  });

  describe('a connection the server kills under a running idempotent read', () => {
    it('retries the read once on a new connection and answers', async () => {
      const { pool, db, observer } = open();
      const firstId = await connectionId(db);
      const read = db.query<{ slept: number }[]>('slow_read', 'SELECT SLEEP(0.3) AS slept', [], { idempotent: true });
      await sleeping();
      await database.admin.query(`KILL ${firstId}`);
      expect(await read).to.deep.equal([{ slept: 0 }]);
      await waitFor('the pool to count the close', () => (pool.stats().open === 1 ? true : undefined), 2_000);
      expect(pool.stats()).to.deep.include({
        used: 0,
        idle: 1,
        pending: 0,
        open: 1,
        created: 2,
        closed: { error: 0, destroyed: 0, remote: 1, shutdown: 0 },
      });
      // The socket's close reaches the pool before the failed statement's callback does.
      expect(observer.events).to.deep.equal([
        ['connectionCreated'],
        ['acquired'],
        ['queryFinished', 'connection_id', 'ok'],
        ['released'],
        ['acquired'],
        ['connectionClosed', 'remote'],
        ['queryFinished', 'slow_read', 'error', 'PROTOCOL_CONNECTION_LOST'],
        ['released'],
        ['connectionCreated'],
        ['acquired'],
        ['queryFinished', 'slow_read', 'ok'],
        ['released'],
      ]);
      expect((await appSessions()).map((s) => s.id)).to.not.include(firstId);
    });
  });

  describe('a query that runs past its timeout', () => {
    it('rejects with QueryTimeoutError, closes its connection (destroyed), and the next query works', async () => {
      const { pool, db, observer } = open({}, 300);
      const firstId = await connectionId(db);
      const started = performance.now();
      const error = await db.query('stuck', 'SELECT SLEEP(5)').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(QueryTimeoutError);
      expect((error as Error).message).to.equal(
        'Query "stuck" did not finish within 300 ms; its connection was closed.',
      );
      expect(performance.now() - started)
        .to.be.at.least(290)
        .and.below(1_000);
      // The socket is closed at once, not when the server finishes its 5 s SLEEP.
      await waitFor('the destroyed connection to close', () => (pool.stats().open === 0 ? true : undefined), 1_000);
      expect(pool.stats()).to.deep.include({
        used: 0,
        idle: 0,
        pending: 0,
        open: 0,
        created: 1,
        closed: { error: 0, destroyed: 1, remote: 0, shutdown: 0 },
      });

      const secondId = await connectionId(db);
      expect(secondId).to.not.equal(firstId);
      expect(pool.stats()).to.include({ used: 0, idle: 1, pending: 0, open: 1, created: 2 });
      // The KILL QUERY for the stuck statement is counted whenever its side connection is done.
      await waitFor(
        'the KILL QUERY to be counted',
        () => (observer.count('queryCancelled', 'timeout', 'killed') === 1 ? true : undefined),
        1_000,
      );
      expect(observer.events.filter(([event]) => event !== 'queryCancelled')).to.deep.equal([
        ['connectionCreated'],
        ['acquired'],
        ['queryFinished', 'connection_id', 'ok'],
        ['released'],
        ['acquired'],
        ['queryFinished', 'stuck', 'timeout', 'QUERY_TIMEOUT'],
        ['released'],
        ['connectionClosed', 'destroyed'],
        ['connectionCreated'],
        ['acquired'],
        ['queryFinished', 'connection_id', 'ok'],
        ['released'],
      ]);
      // The worker had the server stop the stuck statement (KILL QUERY over a side connection).
      await waitFor(
        'the stuck statement to end on the server',
        async () => {
          const [left] = await database.admin.query<mysql.RowDataPacket[]>(
            'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?',
            [firstId],
          );
          return Number(left[0]!.n) === 0 ? true : undefined;
        },
        1_000,
      );
    });
  });

  describe('acquire() when nothing listens on the database port', () => {
    it('fails each read with ECONNREFUSED at once, without a retry, and gives the slot back', async () => {
      const { pool, db, observer } = open({ port: await freePort(), acquireTimeoutMs: 500 });
      for (let i = 0; i < 3; i += 1) {
        const error = await db.query('one', 'SELECT 1', [], { idempotent: true }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect((error as { code?: string }).code).to.equal('ECONNREFUSED');
      }
      // Had a failed connect kept its gate slot, the second call would have been refused with timeout.
      expect(pool.stats()).to.deep.include({
        used: 0,
        idle: 0,
        pending: 0,
        open: 0,
        created: 0,
        rejected: { queue_full: 0, timeout: 0 },
      });
      // One attempt per read: a failed connect is not retried (a new connect would meet the same refusal).
      expect(observer.events).to.deep.equal(Array(3).fill(['queryFinished', 'one', 'error', 'ECONNREFUSED']));
    });
  });

  describe('end()', () => {
    it('closes the idle connection as shutdown and refuses later queries with closed', async () => {
      const { pool, db, observer } = open();
      await connectionId(db);
      await pool.end();
      await waitFor('the connection to close', () => (pool.stats().open === 0 ? true : undefined), 2_000);
      expect(pool.stats().closed).to.deep.equal({ error: 0, destroyed: 0, remote: 0, shutdown: 1 });
      const error = await refusal(db.query('one', 'SELECT 1'));
      expect(error.reason).to.equal('closed');
      expect(pool.stats().rejected).to.deep.equal({ queue_full: 0, timeout: 0 });
      expect(observer.events.slice(-1)).to.deep.equal([['connectionClosed', 'shutdown']]);
    });
  });
});
