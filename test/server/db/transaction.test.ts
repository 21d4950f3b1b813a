// Db.transaction(name, work) against a real MariaDB (throwaway mariadbd, migrated, reached directly as
// the app user): commit, rollback, one connection throughout, one shared timeout, one metric per run.
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { Db, type Transaction } from '../../../server/db/db';
import { QueryTimeoutError } from '../../../server/db/errors';
import { DbPool } from '../../../server/db/pool';
import { RecordingObserver } from '../../support/recording-observer';
import { useMigratedMariaDb } from '../../support/migrated-mariadb';
import { waitFor } from '../../support/wait';

describe('Db.transaction(name, work)', function () {
  this.timeout(30_000);
  let pool: DbPool | undefined;
  const database = useMigratedMariaDb('transaction-test');

  afterEach(async () => {
    await pool?.end();
    pool = undefined;
  });

  /** With `statementTimeoutMs`, as the worker runs it: the server's limit, and the worker's backstop 1 s above. */
  function open(queryTimeoutMs = 10_000, statementTimeoutMs?: number) {
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
        statementTimeoutMs,
      },
      observer,
    );
    return { db: new Db(pool, observer, queryTimeoutMs, statementTimeoutMs), observer };
  }

  async function items(): Promise<string[]> {
    const [rows] = await database.admin.query<mysql.RowDataPacket[]>('SELECT item FROM todos ORDER BY id');
    return rows.map((row) => String(row.item));
  }

  const connectionId = (tx: Pick<Transaction, 'query'>) =>
    tx.query<{ id: number }[]>('SELECT CONNECTION_ID() AS id').then((rows) => Number(rows[0]!.id));

  it('commits what the work wrote and answers what it returned, as one query under its name', async () => {
    const { db, observer } = open();
    const result = await db.transaction('two_inserts', async (tx) => {
      await tx.query('INSERT INTO todos (item) VALUES (?)', ['tx one']);
      await tx.query('INSERT INTO todos (item) VALUES (?)', ['tx two']);
      return 'returned';
    });
    expect(result).to.equal('returned');
    expect(await items()).to.include.members(['tx one', 'tx two']);
    expect(observer.events).to.deep.equal([
      ['connectionCreated'],
      ['acquired'],
      ['queryFinished', 'two_inserts', 'ok'],
      ['released'],
    ]);
  });

  it('runs every statement on one connection, and the work sees its own writes', async () => {
    const { db } = open();
    await db.transaction('same_connection', async (tx) => {
      const first = await connectionId(tx);
      await tx.query('INSERT INTO todos (item) VALUES (?)', ['seen by itself']);
      const [row] = await tx.query<{ n: number }[]>('SELECT COUNT(*) AS n FROM todos WHERE item = ?', [
        'seen by itself',
      ]);
      expect(Number(row!.n)).to.equal(1);
      expect(await connectionId(tx)).to.equal(first);
    });
  });

  it('rolls everything back when the work throws, rethrows, and returns a clean connection to the pool', async () => {
    const { db, observer } = open();
    const before = await items();
    let inside = 0;
    const error = await db
      .transaction('fails', async (tx) => {
        inside = await connectionId(tx);
        await tx.query('INSERT INTO todos (item) VALUES (?)', ['rolled back']);
        await tx.query('INSERT INTO todos (id, item) VALUES (?, ?)', [1, 'duplicate of a seed row']);
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as { code?: string }).code).to.equal('ER_DUP_ENTRY');
    expect(await items()).to.deep.equal(before);
    expect(observer.events).to.deep.include(['queryFinished', 'fails', 'error', 'ER_DUP_ENTRY']);
    // The same connection comes back, outside any transaction.
    const [state] = await db.query<{ id: number; open: number }[]>(
      'state',
      'SELECT CONNECTION_ID() AS id, @@in_transaction AS open',
    );
    expect({ id: Number(state!.id), open: Number(state!.open) }).to.deep.equal({ id: inside, open: 0 });
  });

  it('rolls back when the work throws an error of its own, without a database error code', async () => {
    const { db, observer } = open();
    const before = await items();
    const error = await db
      .transaction('own_error', async (tx) => {
        await tx.query('INSERT INTO todos (item) VALUES (?)', ['not kept']);
        throw new Error('changed my mind');
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as Error).message).to.equal('changed my mind');
    expect(await items()).to.deep.equal(before);
    expect(observer.events).to.deep.include(['queryFinished', 'own_error', 'error', 'other']);
  });

  it('times out as a whole, closes its connection, and leaves nothing written', async () => {
    const { db, observer } = open();
    const before = await items();
    // Each SLEEP alone fits in the timeout; together they do not.
    const error = await db
      .transaction(
        'slow',
        async (tx) => {
          await tx.query('INSERT INTO todos (item) VALUES (?)', ['too slow']);
          await tx.query('SELECT SLEEP(?)', [0.3]);
          await tx.query('SELECT SLEEP(?)', [0.3]);
        },
        { timeoutMs: 450 },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).to.be.instanceOf(QueryTimeoutError);
    expect((error as Error).message).to.equal('Query "slow" did not finish within 450 ms; its connection was closed.');
    expect(observer.events).to.deep.include(['queryFinished', 'slow', 'timeout', 'QUERY_TIMEOUT']);
    await waitFor(
      'the timed-out connection to close',
      () => (observer.events.some((e) => e[0] === 'connectionClosed' && e[1] === 'destroyed') ? true : undefined),
      3_000,
    );
    await waitFor(
      'the server to end the session',
      async () => {
        const [rows] = await database.admin.query<mysql.RowDataPacket[]>(
          'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?',
          [database.settings.database.appUser],
        );
        return Number(rows[0]!.n) === 0 ? true : undefined;
      },
      3_000,
    );
    expect(await items()).to.deep.equal(before);
    expect(await db.query('after', 'SELECT 1 AS one')).to.deep.equal([{ one: 1 }]);
  });

  it('gives each statement only what is left of the server-side limit, so the server stops it, rolls back and keeps the connection', async () => {
    const { db, observer } = open(2_000, 1_000);
    const before = await items();
    let inside = 0;
    const started = performance.now();
    // Each SLEEP alone fits in the statement limit; together they do not.
    const error = await db
      .transaction('over_budget', async (tx) => {
        inside = await connectionId(tx);
        await tx.query('INSERT INTO todos (item) VALUES (?)', ['over budget']);
        await tx.query('SELECT SLEEP(?)', [0.6]);
        await tx.query('SELECT SLEEP(?)', [0.6]);
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const elapsed = performance.now() - started;
    expect(error).to.be.instanceOf(QueryTimeoutError);
    expect((error as QueryTimeoutError).stoppedByServer).to.equal(true);
    expect((error as Error).message).to.equal(
      'Query "over_budget" did not finish within 1000 ms; the database stopped it.',
    );
    expect(elapsed).to.be.at.least(950).and.below(1_500);
    expect(observer.events).to.deep.include(['queryFinished', 'over_budget', 'timeout', 'QUERY_TIMEOUT']);
    expect(await items()).to.deep.equal(before);
    const [state] = await db.query<{ id: number; open: number }[]>(
      'state',
      'SELECT CONNECTION_ID() AS id, @@in_transaction AS open',
    );
    expect({ id: Number(state!.id), open: Number(state!.open) }).to.deep.equal({ id: inside, open: 0 });
  });

  it('leaves no prepared statement open on the server for the per-statement limits it sends', async () => {
    const { db } = open(2_000, 1_000);
    const preparedOnServer = async () => {
      const [rows] = await database.admin.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'");
      return Number(rows[0]!.Value);
    };
    const touch = () =>
      db.transaction('touch', async (tx) => {
        await tx.query('SELECT id FROM todos WHERE id = ? FOR UPDATE', [1]);
        await tx.query('UPDATE todos SET status = status WHERE id = ?', [1]);
      });
    await touch();
    const afterFirst = await preparedOnServer();
    for (let i = 0; i < 5; i += 1) await touch();
    // COM_STMT_CLOSE has no reply: the server may still be processing the last one when another session
    // reads the global count. A leak would leave 10 more statements for good.
    await waitFor(
      'the prepared statement count to settle',
      async () => ((await preparedOnServer()) === afterFirst ? true : undefined),
      3_000,
    );
    expect(await preparedOnServer()).to.equal(afterFirst);
  });

  it('refuses a statement sent after the transaction ended', async () => {
    const { db } = open();
    let kept: Transaction | undefined;
    await db.transaction('leaky', async (tx) => {
      kept = tx;
    });
    const error = await kept!.query('SELECT 1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).to.equal('Transaction "leaky" was used after it ended.');
  });
});
