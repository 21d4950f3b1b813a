// DbPool.retireConnections() against a real MariaDB: what the stack asks of every worker after an in-place
// HAProxy reload. A connection is replaced once free: an idle one at once, one in use after its
// statement (never under it), and the statement queued behind it runs on a new connection.
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { Db } from '../../../server/db/db';
import { DbPool } from '../../../server/db/pool';
import { RecordingObserver } from '../../support/recording-observer';
import { useMigratedMariaDb } from '../../support/migrated-mariadb';
import { waitFor } from '../../support/wait';

describe('DbPool.retireConnections()', function () {
  this.timeout(30_000);
  let pool: DbPool | undefined;
  const database = useMigratedMariaDb('retire-test', undefined);

  afterEach(async () => {
    await pool?.end();
    pool = undefined;
  });

  function open() {
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
      },
      observer,
    );
    return { pool, db: new Db(pool, observer, 10_000) };
  }

  async function appSessions(): Promise<{ id: number; info: string | null }[]> {
    const [rows] = await database.admin.query<mysql.RowDataPacket[]>(
      'SELECT ID AS id, INFO AS info FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID',
      [database.settings.database.appUser],
    );
    return rows.map((row) => ({ id: Number(row.id), info: row.info as string | null }));
  }

  const connectionId = (db: Db) =>
    db.query<{ id: number }[]>('connection_id', 'SELECT CONNECTION_ID() AS id').then((rows) => Number(rows[0]!.id));

  it('closes an idle connection at once; the next statement opens a new one', async () => {
    const { pool, db } = open();
    const first = await connectionId(db);
    expect(pool.retireConnections()).to.equal(1);
    await waitFor('the retired connection to close', () => (pool.stats().open === 0 ? true : undefined), 3_000);
    await waitFor(
      'the server to see it gone',
      async () => ((await appSessions()).length === 0 ? true : undefined),
      3_000,
    );
    const second = await connectionId(db);
    expect(second).to.not.equal(first);
    expect(pool.stats()).to.include({ open: 1, created: 2 });
    expect(pool.stats().closed).to.include({ destroyed: 1, error: 0 });
  });

  it('lets the statement in flight finish on its connection, then runs the queued one on a new connection', async () => {
    const { pool, db } = open();
    const first = await connectionId(db);
    const slow = db.query<{ slept: number }[]>('sleep', 'SELECT SLEEP(?) AS slept', [0.5]);
    const queued = connectionId(db);
    await waitFor(
      'the SLEEP to run',
      async () => ((await appSessions()).some((s) => s.info?.includes('SLEEP')) ? true : undefined),
      3_000,
    );
    expect(pool.retireConnections()).to.equal(1);
    expect(await slow).to.deep.equal([{ slept: 0 }]);
    const next = await queued;
    expect(next).to.not.equal(first);
    expect(await connectionId(db)).to.equal(next);
    await waitFor(
      'one session left on the server',
      async () => {
        const sessions = await appSessions();
        return sessions.length === 1 && sessions[0]!.id === next ? true : undefined;
      },
      3_000,
    );
    expect(pool.stats()).to.include({ open: 1, created: 2, used: 0 });
  });

  it('changes nothing until it is called: the connection is reused', async () => {
    const { db } = open();
    expect(await connectionId(db)).to.equal(await connectionId(db));
  });
});
