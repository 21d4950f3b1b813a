// The connection hand-over and read batching (issue 9) on a real MariaDB, reached directly as the app
// user: a queued statement is sent inside the release of the one before it; identical batchable reads
// queued together share one statement, sent after all of them arrived, never one already in flight.
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { Db } from '../../../server/db/db';
import { GateRejectedError } from '../../../server/db/gate';
import { DbPool, type PoolOptions } from '../../../server/db/pool';
import { RecordingObserver } from '../../support/recording-observer';
import { useMigratedMariaDb } from '../../support/migrated-mariadb';
import { waitFor } from '../../support/wait';

const READ = { idempotent: true, batch: true } as const;

describe('Connection hand-over and read batching (Db on a real MariaDB)', function () {
  this.timeout(30_000);
  let pool: DbPool | undefined;
  const database = useMigratedMariaDb('batch-test');

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
        queueLimit: 10,
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

  it('sends a queued statement inside the release of the one before, before that caller resumes', async () => {
    const { pool: p, db } = open({ readBatching: false });
    await db.query('warm', 'SELECT 1');
    const first = db.query('first', 'SELECT SLEEP(0.2) AS s');
    const second = db.query('second', 'SELECT 2 AS two');
    await waitFor('the second to queue', () => (p.stats().pending === 1 ? true : undefined), 3_000, 5);
    // The first caller's continuation is the earliest code to run after its answer: by then the second
    // already holds the connection and its statement is on the wire (not after a later nextTick).
    const seenByFirst = await first.then(() => ({ ...p.stats() }));
    expect(seenByFirst).to.include({ used: 1, pending: 0 });
    expect(await second).to.deep.equal([{ two: 2 }]);
    expect(p.stats()).to.include({ used: 0, idle: 1, pending: 0 });
  });

  it('serves identical reads queued together with one statement; other values get their own', async () => {
    const { pool: p, db, observer } = open();
    const { done: held } = await hold(db, p, 0.3);
    const sql = 'SELECT CONNECTION_ID() AS id, ? AS v, RAND() AS r';
    const same = [1, 2, 3, 4, 5].map(() => db.query<{ r: number }[]>('read', sql, [7], READ));
    const other = db.query<{ v: number }[]>('read', sql, [8], READ);
    expect(p.stats()).to.include({ used: 1, pending: 6 }); // every request waiting is counted
    await held;
    const answers = await Promise.all(same);
    for (const answer of answers) expect(answer).to.equal(answers[0]); // one result, shared
    expect((await other)[0]!.v).to.equal(8);
    expect(observer.batches).to.deep.equal([
      ['read', 5],
      ['read', 1],
    ]);
    expect(observer.count('queryFinished', 'read', 'ok')).to.equal(2);
    expect(observer.waits).to.have.length(1 + 6); // the hold, then each of the six requests
    expect(observer.uses).to.have.length(1 + 2); // one checkout per statement
    expect(p.stats()).to.include({ used: 0, pending: 0 });
  });

  it('never joins a statement already sent: a later identical read gets the next one', async () => {
    const { pool: p, db, observer } = open();
    const sql = 'SELECT SLEEP(0.2) AS s, ? AS v';
    const first = db.query('slow_read', sql, [1], READ);
    await waitFor('the first to be running', () => (p.stats().used === 1 ? true : undefined), 3_000, 5);
    const later = db.query('slow_read', sql, [1], READ);
    expect(p.stats()).to.include({ used: 1, pending: 1 });
    await Promise.all([first, later]);
    expect(observer.batches).to.deep.equal([
      ['slow_read', 1],
      ['slow_read', 1],
    ]);
  });

  it('lets a read that joined a queued batch see a write committed after the batch formed', async () => {
    const { pool: p, db } = open();
    const [inserted] = await database.admin.query<mysql.ResultSetHeader>(
      "INSERT INTO todos (item, status) VALUES ('before', 'pending')",
    );
    const id = inserted.insertId;
    const sql = 'SELECT item FROM todos WHERE id = ?';
    const { done: held } = await hold(db, p, 0.3);
    const early = db.query<{ item: string }[]>('get_todo', sql, [id], READ);
    await database.admin.query("UPDATE todos SET item = 'after' WHERE id = ?", [id]); // committed (autocommit)
    const late = db.query<{ item: string }[]>('get_todo', sql, [id], READ); // joins `early`'s batch
    expect(p.stats()).to.include({ pending: 2 });
    await held;
    expect((await late)[0]!.item).to.equal('after');
    expect((await early)[0]!.item).to.equal('after'); // sent after both arrived
    await database.admin.query('DELETE FROM todos WHERE id = ?', [id]);
  });

  it('counts joined reads against the queue limit, and refuses each of them on timeout', async () => {
    const { pool: p, db } = open({ queueLimit: 2, acquireTimeoutMs: 300 });
    const { done: held } = await hold(db, p, 0.8);
    const queued = [db.query('read', 'SELECT 1', [], READ), db.query('read', 'SELECT 1', [], READ)].map(outcome);
    const refused = await outcome(db.query('read', 'SELECT 1', [], READ));
    expect((refused as { error: GateRejectedError }).error)
      .to.be.instanceOf(GateRejectedError)
      .and.include({ reason: 'queue_full' });
    for (const answer of await Promise.all(queued)) {
      expect((answer as { error: GateRejectedError }).error)
        .to.be.instanceOf(GateRejectedError)
        .and.include({ reason: 'timeout' });
    }
    expect(p.stats()).to.include({ pending: 0 });
    expect(p.stats().rejected).to.deep.equal({ queue_full: 1, timeout: 2 });
    await held;
  });

  it('drops a member whose client left while queued, and the statement when every member left', async () => {
    const { pool: p, db, observer } = open();
    const { done: held } = await hold(db, p, 0.3);
    const gone = new AbortController();
    const stays = new AbortController();
    const leaving = outcome(db.query('read', 'SELECT 1 AS one', [], { ...READ, signal: gone.signal }));
    const staying = db.query('read', 'SELECT 1 AS one', [], { ...READ, signal: stays.signal });
    const alone = new AbortController();
    const never = outcome(db.query('other', 'SELECT 2', [], { ...READ, signal: alone.signal }));
    expect(p.stats()).to.include({ pending: 3 });
    gone.abort();
    alone.abort();
    expect(p.stats()).to.include({ pending: 1 });
    expect(((await leaving) as { error: GateRejectedError }).error).to.include({ reason: 'cancelled' });
    expect(((await never) as { error: GateRejectedError }).error).to.include({ reason: 'cancelled' });
    await held;
    expect(await staying).to.deep.equal([{ one: 1 }]);
    expect(observer.batches).to.deep.equal([['read', 1]]);
    expect(observer.count('queryFinished', 'other', 'ok')).to.equal(0);

    const already = outcome(db.query('read', 'SELECT 1 AS one', [], { ...READ, signal: AbortSignal.abort() }));
    expect(((await already) as { error: GateRejectedError }).error).to.include({ reason: 'cancelled' });
    expect(observer.batches).to.have.length(1); // nothing was sent for it
  });

  it('runs one statement per read with batching off', async () => {
    const { pool: p, db, observer } = open({ readBatching: false });
    const { done: held } = await hold(db, p, 0.2);
    const reads = [1, 2, 3].map(() => db.query('read', 'SELECT 1 AS one', [], READ));
    await held;
    await Promise.all(reads);
    expect(observer.count('queryFinished', 'read', 'ok')).to.equal(3);
    expect(observer.batches).to.deep.equal([]);
  });
});
