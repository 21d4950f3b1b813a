// Issue 11 against a real stack under pm2 (`npm start` with MONITORING=1, its own PM2_HOME, state folder and
// free ports): no superuser or passwordless login over TCP, a state folder no other OS user can read or
// reach the socket through, no password in any log, body, status or pm2's stored env, and every listener
// on loopback.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { freePort } from '../../cluster/free-port';
import { request } from '../support/http';
import { isolatedEnv, PM2_BIN, run, TSX_BIN, type Run } from '../support/pm2-env';

const ACCESS_DENIED = 1045;
// MariaDB's answer when the user name exists only with another authentication (root: unix_socket).
const ACCESS_DENIED_NO_PASSWORD = 1698;

/** errno of a failed login, or 'logged in'. */
async function loginOutcome(options: mysql.ConnectionOptions): Promise<number | string> {
  try {
    const connection = await mysql.createConnection({ ...options, connectTimeout: 3000 });
    await connection.end();
    return 'logged in';
  } catch (error) {
    return (error as { errno?: number }).errno ?? String(error);
  }
}

/** Every file and folder below `dir` whose mode gives anything to group or others. */
function notPrivate(dir: string): string[] {
  const found: string[] = [];
  const walk = (entry: string) => {
    const stat = fs.lstatSync(entry);
    if (stat.isSymbolicLink()) return;
    if ((stat.mode & 0o077) !== 0) found.push(`${path.relative(dir, entry) || '.'} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const name of fs.readdirSync(entry)) walk(path.join(entry, name));
  };
  walk(dir);
  return found;
}

/** The pid and its descendants, from /proc. */
function processTree(root: number): Set<number> {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').toString();
    parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (tree.has(parent) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return tree;
}

describe('security of the embedded stack (issue 11)', function () {
  this.timeout(240_000);
  let env: NodeJS.ProcessEnv;
  let home: string;
  let stateDir: string;
  let socket: string;
  let passwords: string[];
  /** Everything the stack said or answered during the run, searched for the passwords at the end. */
  const said: string[] = [];
  const keep = (result: Run): Run => (said.push(result.output), result);

  before(async function () {
    ({ env, home } = await isolatedEnv('sec'));
    Object.assign(env, {
      MONITORING: '1',
      PROMETHEUS_PORT: String(await freePort()),
      MYSQLD_EXPORTER_PORT: String(await freePort()),
    });
    stateDir = env.STACK_DIR!;
    socket = path.join(stateDir, 'mariadb', 'mysqld.sock');
    // mkdtemp made the test's folder 0700, which alone would keep every other user out: open it, so what
    // is tested is the state folder's own protection.
    fs.chmodSync(home, 0o755);
    const started = keep(await run([TSX_BIN, 'cluster/cli/start.ts'], env));
    expect(started.code, started.output).to.equal(0);
    passwords = ['db-password', 'db-exporter-password'].map((name) =>
      fs.readFileSync(path.join(stateDir, 'secrets', name), 'utf8').trim(),
    );
  });

  after(async function () {
    await run([PM2_BIN, 'kill'], env, 60_000);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('refuses root over TCP, with and without a password, and has no superuser or passwordless account off the socket', async function () {
    const tcp = { host: '127.0.0.1', port: Number(env.MYSQL_PORT) };
    const outcomes = [
      await loginOutcome({ ...tcp, user: 'root', password: '' }),
      await loginOutcome({ ...tcp, user: 'root', password: 'tester' }),
      await loginOutcome({ ...tcp, user: 'root', password: passwords[0] }),
      await loginOutcome({ ...tcp, user: 'haproxy_check', password: '' }),
      await loginOutcome({ ...tcp, user: 'haproxy_user', password: 'tester' }),
    ];
    const shell = keep(
      await run(
        [
          TSX_BIN,
          'cluster/cli/db-shell.ts',
          '-N',
          '-B',
          '-e',
          "SELECT CONCAT(User, '@', Host, ' ', plugin, ' ', IF(authentication_string = '', 'no-password', 'password'), ' ', Super_priv) " +
            'FROM mysql.user ORDER BY User, Host',
        ],
        env,
      ),
    );
    expect({ outcomes, accounts: shell.output.trim().split('\n') }).to.deep.equal({
      outcomes: [
        ACCESS_DENIED_NO_PASSWORD,
        ACCESS_DENIED_NO_PASSWORD,
        ACCESS_DENIED_NO_PASSWORD,
        ACCESS_DENIED,
        ACCESS_DENIED,
      ],
      accounts: [
        'haproxy_check@localhost mysql_native_password no-password N', // the socket only: HAProxy's check
        'haproxy_user@% mysql_native_password password N',
        'mariadb.sys@localhost mysql_native_password no-password N', // MariaDB's locked definer account
        'mysqld_exporter@% mysql_native_password password N',
        'root@localhost unix_socket no-password Y', // the OS user running the stack (root here), socket only
      ],
    });
    // The app account works with the generated password, so the workers above really used it.
    expect(await loginOutcome({ ...tcp, user: 'haproxy_user', password: passwords[0] })).to.equal('logged in');
  });

  it('keeps another OS user out of .stack/: nothing readable, no connection through the socket', async function () {
    const user = `khsec${process.pid}`;
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', user]);
    try {
      const as = (args: string[]) => spawnSync('runuser', ['-u', user, '--', ...args], { encoding: 'utf8' });
      const log = path.join(stateDir, 'logs', 'sec-mariadb.log');
      const attempts = {
        list: as(['ls', stateDir]).status,
        readLog: as(['cat', log]).status,
        readSecret: as(['cat', path.join(stateDir, 'secrets', 'db-password')]).status,
        socket: as([
          'mariadb',
          '--no-defaults',
          `--socket=${socket}`,
          `--user=${user}`,
          '-e',
          'SELECT 1',
        ]).stderr.includes('(13'),
      };
      // The same commands as the stack's own user succeed, so the refusals above are about the user.
      const asOwner = [spawnSync('cat', [log]).status, fs.existsSync(socket)];
      const seen = { attempts, asOwner, notPrivate: notPrivate(stateDir) };
      expect(seen, JSON.stringify(seen)).to.deep.equal({
        attempts: { list: 2, readLog: 1, readSecret: 1, socket: true },
        asOwner: [0, true],
        notPrivate: [],
      });
    } finally {
      execFileSync('userdel', ['-r', user], { stdio: 'ignore' });
    }
  });

  it('binds every listener of the stack to loopback', async function () {
    const daemon = Number(fs.readFileSync(path.join(env.PM2_HOME!, 'pm2.pid'), 'utf8'));
    const stack = processTree(daemon);
    const listening = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => ({
        local: line.split(/\s+/)[3]!,
        pids: [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])),
      }))
      .filter((socketLine) => socketLine.pids.some((pid) => stack.has(pid)));
    const ports = new Set(listening.map((l) => Number(l.local.slice(l.local.lastIndexOf(':') + 1))));
    const expected = [
      ...env.WORKER_PORTS!.split(','),
      env.HAPROXY_PORT,
      env.HAPROXY_STATS_PORT,
      env.HTTP_PORT,
      env.MYSQL_PORT,
      env.PROMETHEUS_PORT,
      env.MYSQLD_EXPORTER_PORT,
    ].map(Number);
    expect({
      everyPortSeen: expected.filter((port) => !ports.has(port)),
      offLoopback: listening.filter((l) => !/^(127\.0\.0\.1|\[::1\]):\d+$/.test(l.local)).map((l) => l.local),
    }).to.deep.equal({ everyPortSeen: [], offLoopback: [] });
  });

  it("shows no password in a log line, an error body, npm run status, /pool, /metrics or pm2's stored env", async function () {
    const ports = env.WORKER_PORTS!.split(',');
    const urls = [
      ...ports.flatMap((port) => [
        `http://127.0.0.1:${port}/todos`,
        `http://127.0.0.1:${port}/pool`,
        `http://127.0.0.1:${port}/metrics`,
        `http://127.0.0.1:${port}/sleep/abc`,
        `http://127.0.0.1:${port}/todos/999999`,
        `http://127.0.0.1:${port}/nope`,
      ]),
      `http://127.0.0.1:${env.HTTP_PORT}/todos/abc`,
      `http://127.0.0.1:${env.HAPROXY_STATS_PORT}/metrics`,
      `http://127.0.0.1:${env.MYSQLD_EXPORTER_PORT}/metrics`,
    ];
    const statuses: number[] = [];
    for (const url of urls) {
      const reply = await request(url);
      statuses.push(reply.status);
      said.push(reply.text);
    }
    const failures = [
      // A write refused as not JSON, a method the route lacks.
      await request(`http://127.0.0.1:${ports[0]}/todos`, { method: 'POST', body: 'item=x' }),
      await request(`http://127.0.0.1:${ports[0]}/sleep/1`, { method: 'DELETE' }),
    ];
    said.push(...failures.map((reply) => reply.text));
    keep(await run([TSX_BIN, 'cluster/cli/db-shell.ts', '-e', 'SELECT nope'], env));
    keep(await run([TSX_BIN, 'cluster/cli/migrate.ts'], env));
    keep(await run([TSX_BIN, 'cluster/cli/status.ts'], env));
    keep(await run([TSX_BIN, 'cluster/cli/status.ts', '--json'], env));
    const jlist = keep(await run([PM2_BIN, 'jlist'], env));
    keep(await run([PM2_BIN, 'env', '2'], env));
    // The refusal of an external server without passwords, which must not echo the embedded ones either.
    const refused = keep(await run([TSX_BIN, 'cluster/cli/status.ts'], { ...env, MYSQL_HOST: '127.0.0.1' }));
    for (const name of fs.readdirSync(path.join(stateDir, 'logs')))
      said.push(fs.readFileSync(path.join(stateDir, 'logs', name), 'utf8'));
    const everything = said.join('\n');
    expect({
      statuses: statuses.filter((status) => status >= 400).length,
      failures: failures.map((reply) => reply.status),
      workersGetTheFile: jlist.output.includes(path.join(stateDir, 'secrets', 'db-password')),
      refusal: refused.output.includes('MYSQL_HOST is set, so DB_PASSWORD (or DB_PASSWORD_FILE) must be set'),
      passwordsFound: passwords.map((password) => everything.includes(password)),
    }).to.deep.equal({
      statuses: ports.length * 3 + 1,
      failures: [415, 405],
      workersGetTheFile: true,
      refusal: true,
      passwordsFound: [false, false],
    });
  });
});
