import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { migrate } from '../../cluster/database/migrate';
import { provisionSecrets } from '../../cluster/secrets';
import { loadStackSettings } from '../../cluster/settings';
import { startMariaDb, type MariaDbHandle } from '../support/mariadb';

const ALL = [
  'V001__create_todos.sql',
  'V002__seed_todos.sql',
  'V003__idempotency_keys.sql',
  'V004__todos_status_id_index.sql',
  'R__users.sql',
];

describe('migrate(settings, admin)', function () {
  const settings = provisionSecrets(loadStackSettings({}));
  let db: MariaDbHandle;
  let admin: mysql.Connection;

  async function rows(sql: string): Promise<mysql.RowDataPacket[]> {
    const [result] = await admin.query<mysql.RowDataPacket[]>(sql);
    return result.map((row) => ({ ...row }) as mysql.RowDataPacket);
  }

  before(async function () {
    db = await startMariaDb();
    admin = await mysql.createConnection(db.admin);
  });

  after(async function () {
    await admin?.end();
    await db?.stop();
  });

  it('applies the numbered files in order, then the repeatable one, to a fresh server', async function () {
    expect(await migrate(settings, db.admin)).to.deep.equal(ALL);
  });

  it('leaves test.todos holding exactly the two seed rows', async function () {
    expect(await rows('SELECT id, item, status FROM test.todos ORDER BY id')).to.deep.equal([
      { id: 1, item: 'task1', status: 'pending' },
      { id: 2, item: 'task2', status: 'done' },
    ]);
  });

  it('records each numbered file once in test.schema_migrations', async function () {
    expect(await rows('SELECT name FROM test.schema_migrations ORDER BY name')).to.deep.equal([
      { name: 'V001__create_todos.sql' },
      { name: 'V002__seed_todos.sql' },
      { name: 'V003__idempotency_keys.sql' },
      { name: 'V004__todos_status_id_index.sql' },
    ]);
  });

  it('applies only the repeatable file when run again, leaving the two seed rows as they were', async function () {
    expect(await migrate(settings, db.admin)).to.deep.equal(['R__users.sql']);
    expect(await rows('SELECT id, item, status FROM test.todos ORDER BY id')).to.deep.equal([
      { id: 1, item: 'task1', status: 'pending' },
      { id: 2, item: 'task2', status: 'done' },
    ]);
  });

  it('does not bring a deleted seed row back on the next run', async function () {
    await admin.query('DELETE FROM test.todos WHERE id = 1');
    await migrate(settings, db.admin);
    expect(await rows('SELECT id FROM test.todos ORDER BY id')).to.deep.equal([{ id: 2 }]);
  });

  it("gives a new row an id and the status 'pending' when none is given", async function () {
    const [result] = await admin.query<mysql.ResultSetHeader>("INSERT INTO test.todos (item) VALUES ('task3')");
    expect(await rows(`SELECT id, item, status FROM test.todos WHERE id = ${result.insertId}`)).to.deep.equal([
      { id: 3, item: 'task3', status: 'pending' },
    ]);
  });

  it('stores emoji as sent and tells two different emoji apart', async function () {
    await admin.query("INSERT INTO test.todos (item) VALUES ('🥛 milk'), ('🍞 milk')");
    expect(await rows("SELECT item FROM test.todos WHERE item = '🥛 milk'")).to.deep.equal([{ item: '🥛 milk' }]);
  });

  it('applies each numbered file exactly once when two runs race on a fresh database', async function () {
    await admin.query('DROP DATABASE test');
    const results = await Promise.all([migrate(settings, db.admin), migrate(settings, db.admin)]);
    expect(results.flat().sort()).to.deep.equal([
      'R__users.sql',
      'R__users.sql',
      'V001__create_todos.sql',
      'V002__seed_todos.sql',
      'V003__idempotency_keys.sql',
      'V004__todos_status_id_index.sql',
    ]);
    expect(await rows('SELECT COUNT(*) AS n FROM test.todos')).to.deep.equal([{ n: 2 }]);
  });

  it('refuses, before connecting, a DB_USER that is the admin account', async function () {
    const unreachable = { host: '127.0.0.1', port: 1, user: 'root' };
    let error: Error | undefined;
    await migrate(provisionSecrets(loadStackSettings({ DB_USER: 'root' })), unreachable).catch(
      (err: Error) => (error = err),
    );
    expect(error?.message).to.equal(
      'DB_USER is "root", the administrative account; the stack\'s accounts must be separate ones.',
    );
  });

  describe('with a folder of its own', function () {
    let dir: string;
    beforeEach(async function () {
      dir = await mkdtemp(path.join(os.tmpdir(), 'kh-sql-'));
    });
    afterEach(async function () {
      await rm(dir, { recursive: true, force: true });
    });

    it('rejects a file that is neither numbered nor repeatable', async function () {
      await writeFile(path.join(dir, 'seed.sql'), 'SELECT 1;');
      let error: Error | undefined;
      await migrate(settings, db.admin, dir).catch((err: Error) => (error = err));
      expect(error?.message).to.equal(
        `${path.join(dir, 'seed.sql')} is neither a numbered (V001__name.sql) nor a repeatable (R__name.sql) migration.`,
      );
    });

    it('rejects a placeholder it has no value for', async function () {
      await writeFile(path.join(dir, 'R__x.sql'), 'SELECT :nope;');
      let error: Error | undefined;
      await migrate(settings, db.admin, dir).catch((err: Error) => (error = err));
      expect(error?.message).to.equal('R__x.sql uses :nope, which migrate() does not provide.');
    });

    it('applies numbered files by number, not by name (V2 before V10)', async function () {
      await writeFile(path.join(dir, 'V10__b.sql'), 'DO 1;');
      await writeFile(path.join(dir, 'V2__a.sql'), "-- a comment with an apostrophe: it's ignored\nDO 1;");
      await admin.query("DELETE FROM test.schema_migrations WHERE name IN ('V2__a.sql', 'V10__b.sql')");
      expect(await migrate(settings, db.admin, dir)).to.deep.equal(['V2__a.sql', 'V10__b.sql']);
    });
  });
});
