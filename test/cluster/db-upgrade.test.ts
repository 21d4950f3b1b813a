// A .stack/ made by an earlier version (passwordless root for localhost, 127.0.0.1, ::1 and the host
// name; the check account on '%'; the app on the constant 'tester'; world-readable folders) is brought up
// to the secured state by the next start of cluster/database/server.ts, its rows kept.
import { execFileSync, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { adminConnectionOptions } from '../../cluster/database/admin';
import { embeddedPaths, installDbArgs, mariadbdArgs, waitForMariaDb } from '../../cluster/database/embedded';
import { migrate } from '../../cluster/database/migrate';
import { provisionSecrets } from '../../cluster/secrets';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';
import { systemBinary } from '../../cluster/system-packages';
import { freePort } from '../../cluster/free-port';
import { exited, killOnExit } from '../support/processes';

/** What the earlier version ran: mariadb-install-db with a passwordless root. */
function legacyInstallArgs(datadir: string): string[] {
  return [
    '--no-defaults',
    '--auth-root-authentication-method=normal',
    ...installDbArgs(datadir).filter((arg) => arg !== '--no-defaults' && !arg.startsWith('--auth-root-')),
  ];
}

describe('cluster/database/server.ts on a datadir from before unix_socket', function () {
  this.timeout(60_000);
  let stateDir: string;
  let env: NodeJS.ProcessEnv;

  before(async function () {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-upgrade-'));
    env = { ...process.env, STACK_DIR: stateDir, MYSQL_PORT: String(await freePort()) };
    delete env.MYSQL_HOST;
    const paths = embeddedPaths(stateDir);
    fs.mkdirSync(paths.dir, { recursive: true });
    execFileSync(systemBinary('mariadb-install-db'), legacyInstallArgs(paths.datadir));
    // The old version's server, accounts and data.
    const old = spawn(
      systemBinary('mariadbd'),
      mariadbdArgs({
        datadir: paths.datadir,
        port: Number(env.MYSQL_PORT),
        socket: paths.socket,
        pidFile: paths.pidFile,
      }),
      { stdio: 'ignore' },
    );
    killOnExit(old);
    const root = { socketPath: paths.socket, user: 'root', password: '' };
    await waitForMariaDb(root, 20_000);
    const oldSettings = loadStackSettings({
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: env.MYSQL_PORT,
      DB_PASSWORD: 'tester',
      DB_EXPORTER_PASSWORD: 'exporter',
    });
    await migrate(oldSettings, root);
    const connection = await mysql.createConnection(root);
    await connection.query("INSERT INTO test.todos (item) VALUES ('written before the upgrade')");
    await connection.end();
    old.kill('SIGTERM');
    await exited(old);
    execFileSync('chmod', ['-R', 'go+rX', stateDir]);
  });

  after(function () {
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('drops the passwordless root accounts and the TCP check account, keeps the rows, and makes the folder private', async function () {
    let output = '';
    // What npm start's prepareStateDir does before pm2 starts the server: the generated passwords.
    provisionSecrets(loadStackSettings(env));
    const wrapper = fork(path.join(PROJECT_ROOT, 'cluster/database/server.ts'), [], {
      execArgv: ['--require', require.resolve('tsx/cjs')],
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    killOnExit(wrapper);
    wrapper.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    wrapper.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        wrapper.on('message', (message) => message === 'ready' && resolve());
        wrapper.once('exit', (code) => reject(new Error(`db-server exited with ${code}:\n${output}`)));
      });
      const settings = loadStackSettings(env);
      const admin = await mysql.createConnection(adminConnectionOptions(settings));
      const [accounts] = await admin.query<mysql.RowDataPacket[]>(
        "SELECT CONCAT(User, '@', Host, ' ', plugin) AS account FROM mysql.user ORDER BY User, Host",
      );
      const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT item FROM test.todos ORDER BY id');
      await admin.end();
      const tcp = { host: '127.0.0.1', port: Number(env.MYSQL_PORT) };
      const login = (user: string, password: string) =>
        mysql.createConnection({ ...tcp, user, password }).then(
          (c) => c.end().then(() => 'logged in'),
          (e: { errno?: number }) => e.errno,
        );
      const datadirMode = (fs.statSync(embeddedPaths(stateDir).datadir).mode & 0o777).toString(8);
      const tableMode = (
        fs.statSync(path.join(embeddedPaths(stateDir).datadir, 'test', 'todos.ibd')).mode & 0o777
      ).toString(8);
      expect({
        accounts: accounts.map((row) => String(row.account)),
        rows: rows.map((row) => String(row.item)),
        rootOverTcp: await login('root', ''),
        oldAppPassword: await login('haproxy_user', 'tester'),
        newAppPassword: await login('haproxy_user', settings.database.appPassword),
        modes: [(fs.statSync(stateDir).mode & 0o777).toString(8), datadirMode, tableMode],
        logged: output.includes("db-server: dropped the account 'root'@'127.0.0.1'"),
      }).to.deep.equal({
        accounts: [
          'haproxy_check@localhost mysql_native_password',
          'haproxy_user@% mysql_native_password',
          'mariadb.sys@localhost mysql_native_password',
          'mysqld_exporter@% mysql_native_password',
          `${os.userInfo().username}@localhost unix_socket`,
        ],
        rows: ['task1', 'task2', 'written before the upgrade'],
        rootOverTcp: 1698,
        oldAppPassword: 1045,
        newAppPassword: 'logged in',
        // The state folder itself is prepareStateDir's (npm start); the server's own folder is tightened here.
        modes: ['755', '700', '600'],
        logged: true,
      });
    } finally {
      wrapper.kill('SIGTERM');
      await exited(wrapper);
    }
  });
});
