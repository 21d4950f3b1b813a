import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  embeddedPaths,
  initDatadir,
  installDbArgs,
  mariadbdArgs,
  waitForMariaDb,
} from '../../cluster/database/embedded';
import { freePort } from '../../cluster/free-port';

const asRoot = process.geteuid?.() === 0 ? ['--user=root'] : [];

describe('embeddedPaths(stateDir)', function () {
  it('keeps datadir, socket and pid file together under <stateDir>/mariadb', function () {
    expect(embeddedPaths('/srv/stack')).to.deep.equal({
      dir: '/srv/stack/mariadb',
      datadir: '/srv/stack/mariadb/data',
      socket: '/srv/stack/mariadb/mysqld.sock',
      pidFile: '/srv/stack/mariadb/mysqld.pid',
    });
  });
});

describe('installDbArgs(datadir)', function () {
  it('installs without option files, with the OS user as a unix_socket admin and no test database', function () {
    expect(installDbArgs('/srv/stack/mariadb/data')).to.deep.equal([
      '--no-defaults',
      '--auth-root-authentication-method=socket',
      `--auth-root-socket-user=${os.userInfo().username}`,
      '--datadir=/srv/stack/mariadb/data',
      '--skip-test-db',
      '--skip-name-resolve',
      '--tmpdir=/srv/stack/mariadb',
      ...asRoot,
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
    ]);
  });
});

describe('mariadbdArgs(options)', function () {
  it('runs a small foreground server on 127.0.0.1 that outlives HAProxy idle timeouts', function () {
    const args = mariadbdArgs({
      datadir: '/d/data',
      port: 3307,
      socket: '/d/s.sock',
      pidFile: '/d/p.pid',
      logFile: '/d/err.log',
    });
    expect(args).to.deep.equal([
      '--no-defaults',
      '--datadir=/d/data',
      '--port=3307',
      '--bind-address=127.0.0.1',
      '--socket=/d/s.sock',
      '--pid-file=/d/p.pid',
      '--log-error=/d/err.log',
      ...asRoot,
      '--skip-name-resolve',
      '--tmpdir=/d',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      '--performance-schema=OFF',
      '--max-connections=60',
      '--wait-timeout=600',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_520_ci',
    ]);
  });

  it('leaves the error log on stderr when no log file is given', function () {
    const args = mariadbdArgs({ datadir: '/d/data', port: 3307, socket: '/d/s.sock', pidFile: '/d/p.pid' });
    expect(args.filter((arg) => arg.startsWith('--log-error'))).to.deep.equal([]);
  });
});

describe('initDatadir(datadir)', function () {
  let folder: string;
  beforeEach(async function () {
    folder = await mkdtemp(path.join(os.tmpdir(), 'kh-init-'));
  });
  afterEach(async function () {
    await rm(folder, { recursive: true, force: true });
  });

  it('leaves a datadir that already has mysql/ alone and answers false', async function () {
    await mkdir(path.join(folder, 'data', 'mysql'), { recursive: true });
    expect(await initDatadir(path.join(folder, 'data'))).to.equal(false);
    expect(await readdir(path.join(folder, 'data'))).to.deep.equal(['mysql']);
  });

  it('creates a datadir with the system tables, leaving no staging folder, and answers true', async function () {
    expect(await initDatadir(path.join(folder, 'data'))).to.equal(true);
    expect(await readdir(folder)).to.deep.equal(['data']);
    expect((await readdir(path.join(folder, 'data'))).includes('mysql')).to.equal(true);
  });
});

describe('waitForMariaDb(opts, timeoutMs, signal)', function () {
  it('rejects after the timeout, with the last error, when nothing listens', async function () {
    const port = await freePort();
    let error: Error | undefined;
    await waitForMariaDb({ host: '127.0.0.1', port, user: 'root' }, 300).catch((err: Error) => (error = err));
    expect(error?.message).to.equal(
      `MariaDB did not answer SELECT 1 within 300 ms (last error: connect ECONNREFUSED 127.0.0.1:${port}).`,
    );
  });

  it('rejects at once with the abort reason when the signal fires', async function () {
    const started = Date.now();
    let error: Error | undefined;
    const port = await freePort();
    await waitForMariaDb({ host: '127.0.0.1', port, user: 'root' }, 10_000, AbortSignal.timeout(200)).catch(
      (err: Error) => (error = err),
    );
    expect([error?.name, Date.now() - started < 2_000]).to.deep.equal(['TimeoutError', true]);
  });
});
