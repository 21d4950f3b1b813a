import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { declaredAccounts } from '../../cluster/database/grants';
import { migrate } from '../../cluster/database/migrate';
import { provisionSecrets } from '../../cluster/secrets';
import { loadStackSettings } from '../../cluster/settings';
import { startMariaDb, type MariaDbHandle } from '../support/mariadb';

const MIGRATIONS = 30;
const WRITERS = 4;

describe('migrate(settings, admin) re-applying the grants', function () {
  const settings = provisionSecrets(loadStackSettings({}));
  let db: MariaDbHandle;
  let admin: mysql.Connection;

  async function grantsFor(user: string, host = '%'): Promise<string[]> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      `SHOW GRANTS FOR ${admin.escape(user)}@${admin.escape(host)}`,
    );
    return rows
      .map((row) => Object.values(row)[0] as string)
      .filter((line) => !line.startsWith('GRANT USAGE'))
      .sort();
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

  it(`never refuses the app user a write while it runs ${MIGRATIONS} times`, async function () {
    const writers = await Promise.all(
      Array.from({ length: WRITERS }, () =>
        mysql.createConnection({
          host: '127.0.0.1',
          port: db.port,
          user: settings.database.appUser,
          password: settings.database.appPassword,
          database: 'test',
        }),
      ),
    );
    const refusals: string[] = [];
    let inserts = 0;
    let migrating = true;
    const loops = writers.map(async (writer) => {
      while (migrating) {
        try {
          await writer.query("INSERT INTO todos (item) VALUES ('grants-window')");
          inserts += 1;
        } catch (error) {
          refusals.push((error as Error).message);
        }
      }
    });
    try {
      for (let run = 0; run < MIGRATIONS; run += 1) await migrate(settings, db.admin);
    } finally {
      migrating = false;
      await Promise.all(loops);
      await Promise.all(writers.map((writer) => writer.end()));
    }
    expect(inserts).to.be.greaterThan(0);
    expect(refusals).to.deep.equal([]);
  });

  it('revokes what was granted by hand at every level, and only that', async function () {
    const account = `${admin.escape(settings.database.appUser)}@${admin.escape(settings.database.appUserHost)}`;
    const before = await grantsFor(settings.database.appUser);
    await admin.query('CREATE ROLE IF NOT EXISTS kh_extra_role');
    await admin.query(`GRANT ALL PRIVILEGES ON *.* TO ${account} WITH GRANT OPTION`);
    await admin.query(`GRANT ALL PRIVILEGES ON test.* TO ${account}`);
    await admin.query(`GRANT DROP, ALTER ON test.todos TO ${account} WITH GRANT OPTION`);
    await admin.query(`GRANT SELECT (host) ON test.stack_accounts TO ${account}`);
    await admin.query(`GRANT kh_extra_role TO ${account}`);
    expect(await grantsFor(settings.database.appUser)).to.not.deep.equal(before);

    await migrate(settings, db.admin);

    expect(await grantsFor(settings.database.appUser)).to.deep.equal(before);
    expect(before).to.deep.equal([
      'GRANT SELECT ON `test`.`schema_migrations` TO `haproxy_user`@`%`',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON `test`.`idempotency_keys` TO `haproxy_user`@`%`',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON `test`.`todos` TO `haproxy_user`@`%`',
    ]);
    await admin.query('DROP ROLE kh_extra_role');
  });

  it('keeps a privilege granted under an older name (REPLICATION CLIENT is BINLOG MONITOR)', async function () {
    expect(await grantsFor(settings.monitoring.exporterUser)).to.have.length(2);
    await migrate(settings, db.admin);
    expect((await grantsFor(settings.monitoring.exporterUser))[0]).to.match(
      /^GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON \*\.\*/,
    );
  });
});

describe('declaredAccounts(sql, params)', function () {
  const params = { u: 'app', h: '%' };

  it('reads each privilege of each GRANT, the versioned comment included', function () {
    const [account] = declaredAccounts(
      'CREATE USER IF NOT EXISTS :u@:h;\nGRANT PROCESS, REPLICATION CLIENT /*M!100509 , SLAVE MONITOR */ ON *.* TO :u@:h;\n' +
        'GRANT SELECT ON test.todos TO :u@:h WITH GRANT OPTION;',
      params,
    );
    expect(account?.user).to.equal('app');
    expect([...account!.privileges].sort()).to.deep.equal([
      'BINLOG MONITOR ON *.*',
      'GRANT OPTION ON `test`.`todos`',
      'PROCESS ON *.*',
      'SELECT ON `test`.`todos`',
      'SLAVE MONITOR ON *.*',
    ]);
  });

  it('refuses ALL PRIVILEGES, which would hide what is extra', function () {
    expect(() =>
      declaredAccounts('CREATE USER IF NOT EXISTS :u@:h;\nGRANT ALL PRIVILEGES ON test.* TO :u@:h;', params),
    ).to.throw('name each privilege');
  });

  it('refuses a GRANT to an account the file does not create', function () {
    expect(() => declaredAccounts('GRANT SELECT ON test.todos TO :u@:h;', params)).to.throw('does not create');
  });
});
