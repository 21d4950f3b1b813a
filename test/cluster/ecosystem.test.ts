import path from 'node:path';
import { expect } from 'chai';
import { buildApps } from '../../cluster/ecosystem';
import { haproxyArgs } from '../../cluster/haproxy/config-files';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';

describe('buildApps(settings)', () => {
  it('lists the embedded database, HAProxy and one worker per port by default', () => {
    const apps = buildApps(loadStackSettings({}), {});
    expect(apps.map((app) => app.name)).to.deep.equal(['kh-mariadb', 'kh-haproxy', 'kh-worker-8000', 'kh-worker-8001']);
  });

  it('follows WORKER_PORTS without any per-port configuration', () => {
    const apps = buildApps(loadStackSettings({ WORKER_PORTS: '9100,9101,9102', STACK_NAME: 'x' }), {});
    expect(apps.filter((app) => app.name.startsWith('x-worker-')).map((app) => app.env?.PORT)).to.deep.equal([
      '9100',
      '9101',
      '9102',
    ]);
  });

  it('leaves the database out when MYSQL_HOST is set, and adds Prometheus and the exporter with MONITORING=1', () => {
    const apps = buildApps(
      loadStackSettings({ MYSQL_HOST: '10.0.0.9', MONITORING: '1', DB_PASSWORD: 'a', DB_EXPORTER_PASSWORD: 'e' }),
      {},
    );
    expect(apps.map((app) => app.name)).to.deep.equal([
      'kh-haproxy',
      'kh-worker-8000',
      'kh-worker-8001',
      'kh-prometheus',
      'kh-mysqld-exporter',
    ]);
  });

  it('runs workers from their compiled build in pm2 cluster mode, one instance per port, waiting for ready', () => {
    const worker = buildApps(loadStackSettings({}), { DB_QUEUE_LIMIT: '7', UNRELATED: 'x' })[2]!;
    // A .js entry that loads dist/server/main.js (cluster/build/build.ts): no TypeScript loader in a worker.
    expect(worker.script).to.equal(path.join(PROJECT_ROOT, 'cluster', 'worker', 'pm2-entry.js'));
    expect(worker.wait_ready).to.equal(true);
    // Cluster mode: pm2's daemon holds the port, so a reload starts the new process before the old leaves.
    expect(worker.exec_mode).to.equal('cluster');
    expect(worker.instances).to.equal(1);
    // The entry loads the compiled server; stack traces still name the .ts sources. A young generation of
    // 3 x 4 MB (not 3 x 16) and an old space grown to 1.5x its live size (not up to 4x) after each full GC
    // keep a loaded worker's RSS under 100 MB (bench/memory.ts; bench/README.md, "Memory"); the GC runs on the
    // main thread only (its helper threads lengthened each pause on a busy machine).
    expect(worker.node_args).to.deep.equal([
      '--enable-source-maps',
      '--max-semi-space-size=4',
      '--heap-growing-percent=50',
      '--single-threaded-gc',
    ]);
    // The worker writes and rotates its own log; pm2 keeps only what reaches its stdout and stderr.
    expect([worker.out_file, worker.error_file]).to.deep.equal(
      Array(2).fill(path.join(PROJECT_ROOT, '.stack', 'logs', 'kh-worker-8000.pm2.log')),
    );
    // Every worker setting is passed, '' (the default) when unset, so a reload can also unset one.
    expect(worker.env).to.deep.equal({
      DB_POOL_SIZE: '',
      DB_QUEUE_LIMIT: '7',
      DB_ACQUIRE_TIMEOUT_MS: '',
      DB_CONNECT_TIMEOUT_MS: '',
      DB_QUERY_TIMEOUT_MS: '',
      DB_LOCK_WAIT_TIMEOUT_SECONDS: '',
      SLEEP_MAX_SECONDS: '',
      BODY_LIMIT_BYTES: '',
      SHUTDOWN_TIMEOUT_MS: '',
      ACCESS_LOG: '',
      IDEMPOTENCY_KEY_TTL_SECONDS: '',
      METRICS: '',
      DB_READ_BATCHING: '',
      DB_QUEUE_STATEMENT_LIMIT: '',
      DB_READ_BATCH_MAX: '',
      LOG_MAX_BYTES: '',
      LOG_FILES: '',
      LOG_DIR: path.join(PROJECT_ROOT, '.stack', 'logs'),
      PORT: '8000',
      WORKER_HOST: '127.0.0.1',
      WORKER_NAME: 'kh-worker-8000',
      HAPROXY_HOST: '127.0.0.1',
      HAPROXY_PORT: '5555',
      DB_USER: 'haproxy_user',
      // The path of the generated 0600 secret, not the password: pm2 stores and prints an app's env.
      DB_PASSWORD: '',
      DB_PASSWORD_FILE: path.join(PROJECT_ROOT, '.stack', 'secrets', 'db-password'),
    });
  });

  it('passes DB_PASSWORD_FILE as given, and a DB_PASSWORD given as a value as that value', () => {
    const fromFile = buildApps(
      loadStackSettings({ DB_PASSWORD_FILE: path.join(PROJECT_ROOT, 'package.json') }),
      {},
    )[2]!;
    const fromValue = buildApps(loadStackSettings({ DB_PASSWORD: 'given' }), {})[2]!;
    expect([
      fromFile.env?.DB_PASSWORD,
      fromFile.env?.DB_PASSWORD_FILE,
      fromValue.env?.DB_PASSWORD,
      fromValue.env?.DB_PASSWORD_FILE,
    ]).to.deep.equal(['', path.join(PROJECT_ROOT, 'package.json'), 'given', '']);
  });

  it('runs HAProxy in master-worker mode in the foreground on the rendered files around the project config', () => {
    const settings = loadStackSettings({});
    const haproxy = buildApps(settings, {})[1]!;
    expect(haproxy.interpreter).to.equal('none');
    expect(haproxy.exec_mode).to.equal('fork');
    expect(haproxy.args).to.deep.equal(haproxyArgs(settings));
    expect(haproxy.args).to.include(path.join(PROJECT_ROOT, 'haproxy', 'haproxy.cfg'));
  });

  it('gives mariadbd time to flush before pm2 escalates to SIGKILL', () => {
    const db = buildApps(loadStackSettings({}), {})[0]!;
    expect(db.script).to.equal(path.join(PROJECT_ROOT, 'cluster', 'database', 'pm2-entry.js'));
    expect(db.wait_ready).to.equal(true);
    expect(db.kill_timeout).to.be.at.least(30_000);
  });
});
