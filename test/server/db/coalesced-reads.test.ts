// Coalesced point reads (Db.readByKey, issue 16) on a real MariaDB, reached directly as the app user:
// reads of different keys that queue for the connection together share one SELECT ... WHERE id IN (...),
// sent after all of them arrived and never joined once in flight; each gets its own row or none. And the
// queue counts such a statement once against the statement limit, however many requests it serves.
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { Db, type KeyedRead } from '../../../server/db/db';
import { GateRejectedError } from '../../../server/db/gate';
import { DbPool, type PoolOptions } from '../../../server/db/pool';
import { RecordingObserver } from '../../support/recording-observer';
import { useMigratedMariaDb } from '../../support/migrated-mariadb';
import { waitFor } from '../../support/wait';

interface Row {
  id: number;
  item: string;
}

const BY_ID: KeyedRead<Row> = {
  sql: (list) => `SELECT id, item FROM todos WHERE id IN (${list})`,
  keyOf: (row) => row.id,
};
/** The same read, 0.2 s per statement (the SLEEP runs once per row it filters; one row here). */
const SLOW_BY_ID: KeyedRead<Row> = {
  sql: (list) => `SELECT id, item FROM todos WHERE id IN (${list}) AND SLEEP(0.2) = 0`,
  keyOf: (row) => row.id,
};

describe('Db.readByKey(): coalesced point reads on a real MariaDB', function () {
  this.timeout(30_000);
  let pool: DbPool | undefined;
  const database = useMigratedMariaDb('coalesce-test');
  const ids: number[] = [];

  before(async () => {
    for (let i = 0; i < 10; i += 1) {
      const [inserted] = await database.admin.query<mysql.ResultSetHeader>(
        'INSERT INTO todos (item, status) VALUES (?, ?)',
        [`row ${i}`, 'pending'],
      );
      ids.push(inserted.insertId);
    }
  });

  afterEach(async () => {
    await pool?.end();
    pool = undefined;
  });

  function open(overrides: Partial<PoolOptions> = {}) {
    const observer = new RecordingObserver();
    pool = new DbPool(
      {
        host: '127.0.0.1',
        port: database.mariadb.port,
        user: database.settings.database.appUser,
        password: database.settings.database.appPassword,
        database: 'test',
        limit: 1,
        queueLimit: 100,
        acquireTimeoutMs: 10_000,
        connectTimeoutMs: 3_000,
        ...overrides,
      },
      observer,
    );
    return { pool, db: new Db(pool, observer, 10_000), observer };
  }

  /** Holds the connection for `seconds`; resolves once it is checked out, with the holder's end. */
  async function hold(db: Db, p: DbPool, seconds: number): Promise<{ done: Promise<unknown> }> {
    const done = db.query('hold', 'SELECT SLEEP(?) AS s', [seconds]);
    await waitFor('the connection to be held', () => (p.stats().used === 1 ? true : undefined), 3_000, 5);
    return { done };
  }

  const outcome = (promise: Promise<unknown>) =>
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  const item = (i: number) => `row ${i}`;

  it('serves reads of different keys queued together with one statement, each its own row or none', async () => {
    const { pool: p, db, observer } = open();
    const { done: held } = await hold(db, p, 0.3);
    const missing = 999_999;
    const keys = [ids[0]!, ids[3]!, missing, ids[3]!, ids[7]!];
    const reads = keys.map((key) => db.readByKey('get', BY_ID, key));
    expect(p.stats()).to.include({ used: 1, pending: 5 }); // every request waiting is counted
    await held;
    const rows = await Promise.all(reads);
    expect(rows).to.deep.equal([
      { id: ids[0], item: item(0) },
      { id: ids[3], item: item(3) },
      undefined,
      { id: ids[3], item: item(3) },
      { id: ids[7], item: item(7) },
    ]);
    expect(observer.batches).to.deep.equal([['get', 5]]);
    expect(observer.batchKinds).to.deep.equal(['coalesced']);
    expect(observer.count('queryFinished', 'get', 'ok')).to.equal(1);
    expect(observer.waits).to.have.length(1 + 5);
    expect(observer.uses).to.have.length(1 + 1);
    expect(p.stats()).to.include({ used: 0, pending: 0 });
  });

  it('asks for at most readBatchMax different keys per statement; the next keys start the next one', async () => {
    const { pool: p, db, observer } = open({ readBatchMax: 3 });
    const { done: held } = await hold(db, p, 0.3);
    const reads = ids.slice(0, 7).map((key) => db.readByKey('get', BY_ID, key));
    await held;
    expect((await Promise.all(reads)).map((row) => row?.item)).to.deep.equal([0, 1, 2, 3, 4, 5, 6].map(item));
    expect(observer.batches).to.deep.equal([
      ['get', 3],
      ['get', 3],
      ['get', 1],
    ]);
    expect(observer.count('queryFinished', 'get', 'ok')).to.equal(3);
  });

  it('never joins a statement already sent: a read arriving meanwhile gets the next one', async () => {
    const { pool: p, db, observer } = open();
    const first = db.readByKey('slow_get', SLOW_BY_ID, ids[1]!);
    await waitFor('the first to be running', () => (p.stats().used === 1 ? true : undefined), 3_000, 5);
    const later = db.readByKey('slow_get', SLOW_BY_ID, ids[2]!);
    expect(p.stats()).to.include({ used: 1, pending: 1 });
    expect((await Promise.all([first, later])).map((row) => row?.item)).to.deep.equal([item(1), item(2)]);
    expect(observer.batches).to.deep.equal([
      ['slow_get', 1],
      ['slow_get', 1],
    ]);
  });

  it('lets every member see a write committed before it arrived, also one committed after the batch formed', async () => {
    const { pool: p, db } = open();
    const [a, b] = [ids[8]!, ids[9]!];
    const { done: held } = await hold(db, p, 0.3);
    const early = db.readByKey('get', BY_ID, a);
    await database.admin.query("UPDATE todos SET item = 'a after' WHERE id = ?", [a]); // committed (autocommit)
    await database.admin.query("UPDATE todos SET item = 'b after' WHERE id = ?", [b]);
    const late = db.readByKey('get', BY_ID, b); // joins `early`'s statement
    expect(p.stats()).to.include({ pending: 2 });
    await held;
    expect((await late)?.item).to.equal('b after');
    expect((await early)?.item).to.equal('a after'); // sent after both arrived
    await database.admin.query("UPDATE todos SET item = CONCAT('row ', ?) WHERE id = ?", [8, a]);
    await database.admin.query("UPDATE todos SET item = CONCAT('row ', ?) WHERE id = ?", [9, b]);
  });

  it('drops a member whose client left while queued, and the statement when every member left', async () => {
    const { pool: p, db, observer } = open();
    const { done: held } = await hold(db, p, 0.3);
    const gone = new AbortController();
    const leaving = outcome(db.readByKey('get', BY_ID, ids[4]!, { signal: gone.signal }));
    const staying = db.readByKey('get', BY_ID, ids[5]!);
    const alone = new AbortController();
    const never = outcome(db.readByKey('other_get', BY_ID, ids[6]!, { signal: alone.signal }));
    expect(p.stats()).to.include({ pending: 3 });
    gone.abort();
    alone.abort();
    expect(p.stats()).to.include({ pending: 1 });
    expect(((await leaving) as { error: GateRejectedError }).error).to.include({ reason: 'cancelled' });
    expect(((await never) as { error: GateRejectedError }).error).to.include({ reason: 'cancelled' });
    await held;
    expect((await staying)?.item).to.equal(item(5));
    expect(observer.batches).to.deep.equal([['get', 1]]);
    expect(observer.count('queryFinished', 'other_get', 'ok')).to.equal(0);
  });

  it('counts a coalesced statement once against the statement limit, and its requests against the queue limit', async () => {
    const { pool: p, db, observer } = open({ queueLimit: 26, statementQueueLimit: 1, acquireTimeoutMs: 5_000 });
    const { done: held } = await hold(db, p, 0.3);
    const reads = Array.from({ length: 25 }, (_, i) => db.readByKey('get', BY_ID, ids[i % 10]!));
    // A statement of its own is refused at once: one statement waits already, serving 25 requests.
    const own = await outcome(db.query('one', 'SELECT 1'));
    expect((own as { error: GateRejectedError }).error)
      .to.be.instanceOf(GateRejectedError)
      .and.include({
        reason: 'queue_full',
        bound: 'statements',
        message: "The connection pool's wait queue is full (1 statements waiting).",
      });
    // A 26th read is let in, and a 27th refused by the request bound, though it would add no statement.
    reads.push(db.readByKey('get', BY_ID, ids[5]!));
    const extra = await outcome(db.readByKey('get', BY_ID, ids[0]!));
    expect((extra as { error: GateRejectedError }).error).to.include({ reason: 'queue_full', bound: 'requests' });
    await held;
    expect((await Promise.all(reads)).map((row) => row?.item)).to.deep.equal(
      Array.from({ length: 26 }, (_, i) => item(i % 10)),
    );
    expect(observer.batches).to.deep.equal([['get', 26]]);
    expect(observer.events.filter(([event]) => event === 'rejected')).to.deep.equal([
      ['rejected', 'statement_queue_full'],
      ['rejected', 'queue_full'],
    ]);
    expect(p.stats().rejected).to.deep.equal({ queue_full: 2, timeout: 0 });
  });

  it('runs one statement per read with batching off, each its own row or none', async () => {
    const { pool: p, db, observer } = open({ readBatching: false });
    const { done: held } = await hold(db, p, 0.2);
    const reads = [ids[0]!, 999_999, ids[2]!].map((key) => db.readByKey('get', BY_ID, key));
    await held;
    expect((await Promise.all(reads)).map((row) => row?.item)).to.deep.equal([item(0), undefined, item(2)]);
    expect(observer.count('queryFinished', 'get', 'ok')).to.equal(3);
    expect(observer.batches).to.deep.equal([]);
  });

  it("gives every member the shared statement's failure", async () => {
    const { pool: p, db } = open();
    const broken: KeyedRead<Row> = {
      sql: (list) => `SELECT id, no_such_column FROM todos WHERE id IN (${list})`,
      keyOf: (row) => row.id,
    };
    const { done: held } = await hold(db, p, 0.2);
    const reads = [ids[0]!, ids[1]!].map((key) => outcome(db.readByKey('broken', broken, key)));
    await held;
    for (const answer of await Promise.all(reads))
      expect((answer as { error: { code: string } }).error.code).to.equal('ER_BAD_FIELD_ERROR');
    expect(p.stats()).to.include({ used: 0, pending: 0 });
  });
});
