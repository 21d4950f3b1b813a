// `npm run db:reset`: fresh seeded data on a real MariaDB, reached as the embedded one is (its socket in
// <STACK_DIR>/mariadb/, the OS user's unix_socket login) and as an external one (MYSQL_HOST with an admin
// account over TCP). The command runs as a user runs it, in a child process reading the environment.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { adminConnectionOptions } from '../../cluster/database/admin';
import { embeddedPaths } from '../../cluster/database/embedded';
import { migrate } from '../../cluster/database/migrate';
import { generatePassword } from '../../cluster/secrets';
import { loadStackSettings, PROJECT_ROOT, type StackSettings } from '../../cluster/settings';
import { provisionSecrets } from '../../cluster/secrets';
import { startMariaDb, type MariaDbHandle } from '../support/mariadb';

const SEED = [
  { id: 1, item: 'task1', status: 'pending' },
  { id: 2, item: 'task2', status: 'done' },
];

function dbReset(env: Record<string, string>, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(
    process.execPath,
    ['--require', require.resolve('tsx/cjs'), path.join(PROJECT_ROOT, 'cluster', 'cli', 'db-reset.ts'), ...args],
    { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: os.homedir(), ...env }, encoding: 'utf8' },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('npm run db:reset', function () {
  this.timeout(60_000);
  let mariadb: MariaDbHandle;
  let stateDir: string;

  before(async () => {
    mariadb = await startMariaDb();
  });

  after(async () => {
    await mariadb?.stop();
  });

  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-db-reset-'));
  });
  afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  async function query(sql: string, values: unknown[] = []): Promise<mysql.RowDataPacket[]> {
    const connection = await mysql.createConnection({ ...mariadb.admin, database: 'test' });
    try {
      return (await connection.query<mysql.RowDataPacket[]>(sql, values))[0];
    } finally {
      await connection.end();
    }
  }

  /** Data a user made: a todo changed, one deleted, new ones, a stored idempotent answer. */
  async function makeData(): Promise<void> {
    await query("UPDATE todos SET status = 'done' WHERE id = 1");
    await query('DELETE FROM todos WHERE id = 2');
    await query("INSERT INTO todos (item) VALUES ('mine'), ('also mine')");
    await query(
      "INSERT IGNORE INTO idempotency_keys (idempotency_key, fingerprint, expires_at) VALUES ('k1', REPEAT('a', 64), NOW() + INTERVAL 1 DAY)",
    );
  }

  async function expectSeedOnly(settings: StackSettings): Promise<void> {
    expect(await query('SELECT id, item, status FROM todos ORDER BY id')).to.deep.equal(SEED);
    expect(await query('SELECT * FROM idempotency_keys')).to.deep.equal([]);
    // The app account still reads and writes, and ids start after the seed again.
    const app = await mysql.createConnection({
      host: '127.0.0.1',
      port: mariadb.port,
      user: settings.database.appUser,
      password: settings.database.appPassword,
      database: 'test',
    });
    try {
      const [inserted] = await app.query<mysql.ResultSetHeader>("INSERT INTO todos (item) VALUES ('after reset')");
      expect(inserted.insertId).to.equal(3);
    } finally {
      await app.end();
    }
    await query('DELETE FROM todos WHERE id > 2');
  }

  describe('on the embedded database (socket, unix_socket admin)', function () {
    let settings: StackSettings;
    beforeEach(async () => {
      // The stack's embedded socket path, pointing at the test's server.
      fs.mkdirSync(embeddedPaths(stateDir).dir, { recursive: true });
      fs.symlinkSync(mariadb.socket, embeddedPaths(stateDir).socket);
      settings = provisionSecrets(loadStackSettings({ STACK_DIR: stateDir }));
      await migrate(settings, adminConnectionOptions(settings));
      await makeData();
    });

    it('refuses without --yes, says what it would drop, and changes nothing', async () => {
      const before = await query('SELECT id, item, status FROM todos ORDER BY id');
      const result = dbReset({ STACK_DIR: stateDir }, []);
      expect(result.status).to.equal(1);
      expect(result.output).to.include('db:reset drops every table of the database "test" on the embedded MariaDB');
      expect(result.output).to.include('idempotency_keys, schema_migrations, todos');
      expect(result.output).to.include('Nothing was changed. To go ahead: npm run db:reset -- --yes');
      expect(await query('SELECT id, item, status FROM todos ORDER BY id')).to.deep.equal(before);
      expect(await query('SELECT idempotency_key FROM idempotency_keys')).to.have.length(1);
    });

    it('with --yes leaves exactly the seed rows, no idempotency key, and the accounts working', async () => {
      const result = dbReset({ STACK_DIR: stateDir }, ['--yes']);
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.match(
        /^Reset the embedded MariaDB: dropped idempotency_keys, schema_migrations, todos; applied V001__/,
      );
      await expectSeedOnly(settings);
      expect((await query('SELECT user FROM stack_accounts')).length).to.be.above(0);
    });
  });

  describe('on an external server (MYSQL_HOST, an admin account over TCP)', function () {
    const adminPassword = generatePassword();
    let env: Record<string, string>;
    let settings: StackSettings;
    before(async () => {
      await query("CREATE USER IF NOT EXISTS 'reset_admin'@'127.0.0.1' IDENTIFIED BY ?", [adminPassword]);
      await query("GRANT ALL ON *.* TO 'reset_admin'@'127.0.0.1' WITH GRANT OPTION");
    });
    beforeEach(async () => {
      env = {
        STACK_DIR: stateDir,
        MYSQL_HOST: '127.0.0.1',
        MYSQL_PORT: String(mariadb.port),
        MYSQL_ADMIN_USER: 'reset_admin',
        MYSQL_ADMIN_PASSWORD: adminPassword,
        DB_PASSWORD: generatePassword(),
        DB_EXPORTER_PASSWORD: generatePassword(),
      };
      settings = provisionSecrets(loadStackSettings(env));
      await migrate(settings, adminConnectionOptions(settings));
      await makeData();
    });

    it('with --yes leaves exactly the seed rows', async () => {
      const result = dbReset(env, ['--yes']);
      expect(result.status, result.output).to.equal(0);
      expect(result.output).to.include(`Reset 127.0.0.1:${mariadb.port}: dropped`);
      await expectSeedOnly(settings);
    });
  });
});
