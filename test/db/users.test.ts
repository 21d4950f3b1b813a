import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { migrate } from '../../cluster/database/migrate';
import { provisionSecrets } from '../../cluster/secrets';
import { loadStackSettings } from '../../cluster/settings';
import { startMariaDb, type MariaDbHandle } from '../support/mariadb';

// Error numbers MariaDB answers with, asserted exactly so a different refusal fails the test.
const TABLE_ACCESS_DENIED = 1142;
const ACCESS_DENIED = 1045;
const USER_LIMIT_REACHED = 1226; // max_user_connections

describe('sql/R__users.sql (applied by migrate)', function () {
  const settings = provisionSecrets(loadStackSettings({}));
  let db: MariaDbHandle;
  let admin: mysql.Connection;

  /** Logs in over TCP, as HAProxy and the exporter do, so the '%' host part is what matches. */
  function connectAs(user: string, password: string): Promise<mysql.Connection> {
    return mysql.createConnection({ host: '127.0.0.1', port: db.port, user, password });
  }

  async function errnoOf(work: Promise<unknown>): Promise<number | undefined> {
    return work.then(
      () => undefined,
      (err: { errno?: number }) => err.errno,
    );
  }

  async function grantsFor(user: string, host = '%'): Promise<string[]> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      `SHOW GRANTS FOR ${admin.escape(user)}@${admin.escape(host)}`,
    );
    return rows.map((row) => Object.values(row)[0] as string);
  }

  async function passwordHash(password: string): Promise<string> {
    const [[row]] = await admin.query<mysql.RowDataPacket[]>('SELECT PASSWORD(?) AS hash', [password]);
    return row!.hash as string;
  }

  before(async function () {
    db = await startMariaDb();
    admin = await mysql.createConnection(db.admin);
    await migrate(settings, db.admin);
  });

  after(async function () {
    await admin?.end();
    await db?.stop();
  });

  describe('the app user (DB_USER)', function () {
    let app: mysql.Connection;
    before(async function () {
      app = await connectAs('haproxy_user', settings.database.appPassword);
    });
    after(async function () {
      await app?.end();
    });

    it('can SELECT, INSERT, UPDATE and DELETE rows of test.todos', async function () {
      const [inserted] = await app.query<mysql.ResultSetHeader>("INSERT INTO test.todos (item) VALUES ('grants')");
      await app.query("UPDATE test.todos SET status = 'done' WHERE id = ?", [inserted.insertId]);
      const [rows] = await app.query<mysql.RowDataPacket[]>('SELECT item, status FROM test.todos WHERE id = ?', [
        inserted.insertId,
      ]);
      expect(rows.map((row) => ({ ...row }))).to.deep.equal([{ item: 'grants', status: 'done' }]);
      const [deleted] = await app.query<mysql.ResultSetHeader>('DELETE FROM test.todos WHERE id = ?', [
        inserted.insertId,
      ]);
      expect(deleted.affectedRows).to.equal(1);
    });

    it('is refused CREATE TABLE in test', async function () {
      expect(await errnoOf(app.query('CREATE TABLE test.intruder (id INT)'))).to.equal(TABLE_ACCESS_DENIED);
    });

    it('is refused DROP TABLE test.todos', async function () {
      expect(await errnoOf(app.query('DROP TABLE test.todos'))).to.equal(TABLE_ACCESS_DENIED);
    });

    it('is refused reading mysql.user', async function () {
      expect(await errnoOf(app.query('SELECT user FROM mysql.user'))).to.equal(TABLE_ACCESS_DENIED);
    });

    it('reads test.schema_migrations (workers wait for their migration there) but cannot change it', async function () {
      const [rows] = await app.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM test.schema_migrations');
      expect(rows[0]?.n).to.be.above(0);
      expect(await errnoOf(app.query('DELETE FROM test.schema_migrations'))).to.equal(TABLE_ACCESS_DENIED);
    });

    it('is refused test.stack_accounts, so it cannot name an account for migrate to drop', async function () {
      expect(
        await errnoOf(app.query("INSERT INTO test.stack_accounts (user, host) VALUES ('root', 'localhost')")),
      ).to.equal(TABLE_ACCESS_DENIED);
      expect(await errnoOf(app.query('SELECT * FROM test.stack_accounts'))).to.equal(TABLE_ACCESS_DENIED);
    });

    it('is back to exactly its grants after ALL ON *.* was granted by hand and migrate ran', async function () {
      await admin.query("GRANT ALL PRIVILEGES ON *.* TO 'haproxy_user'@'%' WITH GRANT OPTION");
      await migrate(settings, db.admin);
      // Sorted: MariaDB lists table grants in no particular order.
      expect((await grantsFor('haproxy_user')).sort()).to.deep.equal([
        'GRANT SELECT ON `test`.`schema_migrations` TO `haproxy_user`@`%`',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON `test`.`idempotency_keys` TO `haproxy_user`@`%`',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON `test`.`todos` TO `haproxy_user`@`%`',
        `GRANT USAGE ON *.* TO \`haproxy_user\`@\`%\` IDENTIFIED BY PASSWORD '${await passwordHash(settings.database.appPassword)}'`,
      ]);
    });

    it('logs in only with the new password once DB_PASSWORD changes and migrate runs', async function () {
      await migrate(provisionSecrets(loadStackSettings({ DB_PASSWORD: 'changed' })), db.admin);
      try {
        const changed = await connectAs('haproxy_user', 'changed');
        await changed.end();
        expect(await errnoOf(connectAs('haproxy_user', settings.database.appPassword))).to.equal(ACCESS_DENIED);
      } finally {
        await migrate(settings, db.admin);
      }
    });
  });

  describe('the check user (DB_CHECK_USER)', function () {
    // On the embedded server HAProxy checks over the socket, the only place this account exists.
    const overSocket = () => mysql.createConnection({ socketPath: db.socket, user: 'haproxy_check', password: '' });

    it('logs in without a password over the socket', async function () {
      const check = await overSocket();
      const [[row]] = await check.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS user');
      await check.end();
      expect(row?.user).to.equal('haproxy_check@localhost');
    });

    it('is refused over TCP: no account logs in there without a password', async function () {
      expect(await errnoOf(connectAs('haproxy_check', ''))).to.equal(ACCESS_DENIED);
    });

    it('holds no privilege at all', async function () {
      expect(await grantsFor('haproxy_check', 'localhost')).to.deep.equal([
        'GRANT USAGE ON *.* TO `haproxy_check`@`localhost`',
      ]);
    });

    it('is refused reading test.todos', async function () {
      const check = await overSocket();
      const errno = await errnoOf(check.query('SELECT * FROM test.todos'));
      await check.end();
      expect(errno).to.equal(TABLE_ACCESS_DENIED);
    });
  });

  describe('the exporter user (DB_EXPORTER_USER)', function () {
    it("holds mysqld_exporter's grants (SLAVE MONITOR included on MariaDB) and a 3-connection cap", async function () {
      expect(await grantsFor('mysqld_exporter')).to.deep.equal([
        `GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO \`mysqld_exporter\`@\`%\` IDENTIFIED BY PASSWORD '${await passwordHash(settings.monitoring.exporterPassword)}' WITH MAX_USER_CONNECTIONS 3`,
        'GRANT SELECT ON `performance_schema`.* TO `mysqld_exporter`@`%`',
      ]);
    });

    it('is refused a fourth concurrent connection', async function () {
      const open = await Promise.all(
        [1, 2, 3].map(() => connectAs('mysqld_exporter', settings.monitoring.exporterPassword)),
      );
      try {
        expect(await errnoOf(connectAs('mysqld_exporter', settings.monitoring.exporterPassword))).to.equal(
          USER_LIMIT_REACHED,
        );
      } finally {
        await Promise.all(open.map((connection) => connection.end()));
      }
    });
  });
});
