// How Db.query classifies a statement that did not get its answer, against a real MariaDB (throwaway
// mariadbd, reached directly as the app user): a write sent and then cut off is OutcomeUnknownError, one
// never sent keeps its plain error; a statement the worker gives up on is stopped on the server (KILL
// QUERY); someone else's KILL QUERY leaves the connection open and is not retried.
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { Db } from '../../../server/db/db';
import { isQueryInterrupted, OutcomeUnknownError, QueryTimeoutError } from '../../../server/db/errors';
import { DbPool } from '../../../server/db/pool';
import { freePort } from '../../../cluster/free-port';
import { RecordingObserver } from '../../support/recording-observer';
import { useMigratedMariaDb } from '../../support/migrated-mariadb';
import { waitFor } from '../../support/wait';

describe('Db.query when a statement gets no answer', function () {
  this.timeout(30_000);
  let pool: DbPool | undefined;
  const database = useMigratedMariaDb('statement-outcome-test');

  afterEach(async () => {
    await pool?.end();
    pool = undefined;
  });

  /** No server-side limit: the worker's own timeout (the backstop) is the only one. */
  function open(queryTimeoutMs = 10_000, port = database.mariadb.port) {
    const observer = new RecordingObserver();
    pool = new DbPool(
      {
        host: '127.0.0.1',
        port,
        user: database.settings.database.appUser,
        password: database.settings.database.appPassword,
        database: 'test',
        limit: 1,
        queueLimit: 10,
        acquireTimeoutMs: 10_000,
        connectTimeoutMs: 3_000,
      },
      observer,
    );
    return { db: new Db(pool, observer, queryTimeoutMs), observer };
  }

  /** The app's sessions running `pattern` now. */
  async function running(pattern: RegExp): Promise<{ id: number; info: string }[]> {
    const [rows] = await database.admin.query<mysql.RowDataPacket[]>(
      'SELECT ID AS id, INFO AS info FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO IS NOT NULL',
      [database.settings.database.appUser],
    );
    return rows.map((r) => ({ id: Number(r.id), info: String(r.info) })).filter((r) => pattern.test(r.info));
  }

  async function stored(item: string): Promise<number> {
    const [rows] = await database.admin.query<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM todos WHERE item LIKE ?',
      [`${item}%`],
    );
    return Number(rows[0]!.n);
  }

  const slowInsert = 'INSERT INTO todos (item) SELECT CONCAT(?, SLEEP(?))';

  it('fails a write whose connection is cut after it was sent with OutcomeUnknownError', async () => {
    const { db } = open();
    const write = db.query('slow_write', slowInsert, ['cut off', 2], { write: true }).catch((error: unknown) => error);
    const [session] = await waitFor(
      'the INSERT to run',
      async () => {
        const now = await running(/^INSERT/);
        return now.length === 1 ? now : undefined;
      },
      3_000,
    );
    await database.admin.query(`KILL CONNECTION ${session!.id}`);
    const error = await write;
    expect(error).to.be.instanceOf(OutcomeUnknownError);
    expect((error as Error).message).to.equal(
      'Write "slow_write" was sent but not confirmed by the database; it may have been applied.',
    );
  });

  it('keeps the plain connection error of a write that was never sent (connect refused)', async () => {
    const { db } = open(10_000, await freePort());
    const write = await db
      .query('refused_write', 'INSERT INTO todos (item) VALUES (?)', ['never sent'], { write: true })
      .catch((error: unknown) => error);
    expect(write).not.to.be.instanceOf(OutcomeUnknownError);
    expect((write as { code?: string }).code).to.equal('ECONNREFUSED');
    expect(await stored('never sent')).to.equal(0);
  });

  it('gives up a write past its backstop as OutcomeUnknownError, and has the server stop it (KILL QUERY)', async () => {
    const { db, observer } = open(500);
    const error = await db.query('slow_write', slowInsert, ['backstop', 3], { write: true }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(OutcomeUnknownError);
    expect((error as Error).cause).to.be.instanceOf(QueryTimeoutError);
    // Stopped there and then: not left to run (and commit) for nobody for the rest of its 3 s.
    await waitFor(
      'the INSERT to be stopped',
      async () => ((await running(/^INSERT/)).length === 0 ? true : undefined),
      1_000,
    );
    await waitFor(
      'the cancellation to be counted',
      () => (observer.count('queryCancelled', 'timeout', 'killed') === 1 ? true : undefined),
      1_000,
    );
    expect(await stored('backstop')).to.equal(0);
  });

  it('has the server stop a read given up past its backstop', async () => {
    const { db, observer } = open(500);
    const error = await db
      .query('slow_read', 'SELECT SLEEP(5) AS given_up', [], { idempotent: true })
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(QueryTimeoutError);
    await waitFor(
      'the SLEEP to be stopped',
      async () => ((await running(/given_up/)).length === 0 ? true : undefined),
      1_000,
    );
    await waitFor(
      'the cancellation to be counted',
      () => (observer.count('queryCancelled', 'timeout', 'killed') === 1 ? true : undefined),
      1_000,
    );
  });

  it("neither retries nor closes the connection of a read stopped by someone else's KILL QUERY", async () => {
    const { db, observer } = open();
    const read = db
      .query('killed_read', 'SELECT SLEEP(5) AS killed_elsewhere', [], { idempotent: true })
      .catch((e: unknown) => e);
    const [session] = await waitFor(
      'the SLEEP to run',
      async () => {
        const now = await running(/killed_elsewhere/);
        return now.length === 1 ? now : undefined;
      },
      3_000,
    );
    const started = performance.now();
    await database.admin.query(`KILL QUERY ${session!.id}`);
    const error = await read;
    expect(performance.now() - started).to.be.below(1_000);
    expect(isQueryInterrupted(error), String(error)).to.equal(true);
    expect(observer.count('acquired')).to.equal(1);
    expect(observer.count('connectionClosed', 'destroyed')).to.equal(0);
    expect(pool!.stats()).to.include({ open: 1, idle: 1, created: 1 });
  });
});
