// Accounts the settings no longer name: migrate() drops those the stack created, and only those.
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { migrate } from '../../cluster/database/migrate';
import { provisionSecrets } from '../../cluster/secrets';
import { loadStackSettings } from '../../cluster/settings';
import { startMariaDb, type MariaDbHandle } from '../support/mariadb';

const NO_SUCH_GRANT = 1141; // SHOW GRANTS for an account that does not exist

describe('migrate(settings, admin) and the accounts the settings no longer name', function () {
  const defaults = provisionSecrets(loadStackSettings({}));
  let db: MariaDbHandle;
  let admin: mysql.Connection;

  /** user@host of every account on the server except MariaDB's own (root, mariadb.sys). */
  async function accounts(): Promise<string[]> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      "SELECT CONCAT(User, '@', Host) AS account FROM mysql.user WHERE User NOT IN ('root', 'mariadb.sys') ORDER BY account",
    );
    return rows.map((row) => row.account as string);
  }

  async function grantsErrno(user: string, host: string): Promise<number | undefined> {
    return admin.query('SHOW GRANTS FOR ?@?', [user, host]).then(
      () => undefined,
      (err: { errno?: number }) => err.errno,
    );
  }

  before(async function () {
    db = await startMariaDb();
    admin = await mysql.createConnection(db.admin);
    await migrate(defaults, db.admin);
  });

  after(async function () {
    await admin?.end();
    await db?.stop();
  });

  afterEach(async function () {
    await migrate(defaults, db.admin);
  });

  it('drops the old app account and its grants once DB_USER changes', async function () {
    await migrate(provisionSecrets(loadStackSettings({ DB_USER: 'todo_app' })), db.admin);
    expect(await accounts()).to.deep.equal(['haproxy_check@localhost', 'mysqld_exporter@%', 'todo_app@%']);
    expect(await grantsErrno('haproxy_user', '%')).to.equal(NO_SUCH_GRANT);
  });

  it('drops the accounts of the old DB_USER_HOST once it changes', async function () {
    await migrate(provisionSecrets(loadStackSettings({ DB_USER_HOST: '127.0.0.1' })), db.admin);
    // The embedded server's check account stays on the socket (localhost) whatever DB_USER_HOST says.
    expect(await accounts()).to.deep.equal([
      'haproxy_check@localhost',
      'haproxy_user@127.0.0.1',
      'mysqld_exporter@127.0.0.1',
    ]);
  });

  it('never drops an account that existed before the settings named it', async function () {
    await admin.query("CREATE USER 'made_by_hand'@'%' IDENTIFIED BY 'x'");
    await migrate(provisionSecrets(loadStackSettings({ DB_USER: 'made_by_hand' })), db.admin);
    await migrate(defaults, db.admin);
    expect(await accounts()).to.include('made_by_hand@%');
    await admin.query("DROP USER 'made_by_hand'@'%'");
  });

  it('leaves alone accounts it never named', async function () {
    await admin.query("CREATE USER 'someone_else'@'%'");
    await migrate(provisionSecrets(loadStackSettings({ DB_USER: 'todo_app' })), db.admin);
    expect(await accounts()).to.include('someone_else@%');
    await admin.query("DROP USER 'someone_else'@'%'");
  });

  it('never drops root or the admin account, even when the record names them', async function () {
    await admin.query("INSERT INTO test.stack_accounts (user, host) VALUES ('root', 'localhost'), ('dba', '%')");
    await admin.query("CREATE USER 'dba'@'%'");
    await migrate(provisionSecrets(loadStackSettings({ MYSQL_ADMIN_USER: 'dba' })), db.admin);
    expect(await grantsErrno('root', 'localhost')).to.equal(undefined);
    expect(await grantsErrno('dba', '%')).to.equal(undefined);
    await admin.query("DELETE FROM test.stack_accounts WHERE user IN ('root', 'dba')");
    await admin.query("DROP USER 'dba'@'%'");
  });
});
