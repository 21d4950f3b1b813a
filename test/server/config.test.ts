import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadWorkerConfig as loadWithoutPassword } from '../../server/config';

// Every worker needs its account's password; the tests below that are about other settings give one.
const loadWorkerConfig = (env: Record<string, string>) => loadWithoutPassword({ DB_PASSWORD: 's3cret', ...env });

describe('loadWorkerConfig(env)', () => {
  it('gives the reference topology with an environment holding only the password', () => {
    const config = loadWorkerConfig({});
    expect(config.port).to.equal(8000);
    expect(config.host).to.equal('127.0.0.1');
    expect(config.workerName).to.equal('worker-8000');
    expect(config.db).to.deep.equal({
      host: '127.0.0.1',
      port: 5555,
      user: 'haproxy_user',
      password: 's3cret',
      database: 'test',
      poolSize: 1,
      queueLimit: 1000,
      statementQueueLimit: 50,
      acquireTimeoutMs: 10_000,
      connectTimeoutMs: 3_000,
      queryTimeoutMs: 65_000,
      lockWaitTimeoutSeconds: 5,
      readBatching: true,
      readBatchMax: 64,
    });
    expect(config.sleepMaxSeconds).to.equal(60);
    expect(config.bodyLimitBytes).to.equal(16_384);
    expect(config.accessLog).to.equal(true);
    expect(config.log).to.deep.equal({ dir: undefined, maxBytes: 16 * 1024 * 1024, files: 4 });
    expect(config.metrics).to.equal(true);
    expect(config.idempotencyKeyTtlSeconds).to.equal(86_400);
  });

  it('keeps Idempotency-Keys 1 s to 30 days', () => {
    expect(loadWorkerConfig({ IDEMPOTENCY_KEY_TTL_SECONDS: '2592000' }).idempotencyKeyTtlSeconds).to.equal(2_592_000);
    for (const bad of ['0', '2592001', '1h', '-1']) {
      expect(() => loadWorkerConfig({ IDEMPOTENCY_KEY_TTL_SECONDS: bad }), bad).to.throw(
        `  - IDEMPOTENCY_KEY_TTL_SECONDS must be a whole number from 1 to 2592000, got "${bad}".`,
      );
    }
  });

  it('reads every setting from the environment', () => {
    const config = loadWorkerConfig({
      PORT: '9001',
      WORKER_HOST: '0.0.0.0',
      WORKER_NAME: 'w',
      HAPROXY_HOST: '127.0.0.2',
      HAPROXY_PORT: '6000',
      DB_USER: 'u',
      DB_PASSWORD: 'pw',
      DB_POOL_SIZE: '2',
      DB_QUEUE_LIMIT: '0',
      DB_ACQUIRE_TIMEOUT_MS: '5',
      DB_CONNECT_TIMEOUT_MS: '6',
      DB_QUERY_TIMEOUT_MS: '2001',
      DB_LOCK_WAIT_TIMEOUT_SECONDS: '2',
      SLEEP_MAX_SECONDS: '2',
      BODY_LIMIT_BYTES: '100',
      SHUTDOWN_TIMEOUT_MS: '0',
      ACCESS_LOG: '0',
      METRICS: '0',
      IDEMPOTENCY_KEY_TTL_SECONDS: '60',
      DB_READ_BATCHING: '0',
      DB_QUEUE_STATEMENT_LIMIT: '3',
      DB_READ_BATCH_MAX: '7',
      LOG_DIR: '/var/log/w',
      LOG_MAX_BYTES: '4096',
      LOG_FILES: '2',
    });
    expect(config).to.deep.equal({
      port: 9001,
      host: '0.0.0.0',
      workerName: 'w',
      db: {
        host: '127.0.0.2',
        port: 6000,
        user: 'u',
        password: 'pw',
        database: 'test',
        poolSize: 2,
        queueLimit: 0,
        statementQueueLimit: 3,
        acquireTimeoutMs: 5,
        connectTimeoutMs: 6,
        queryTimeoutMs: 2001,
        lockWaitTimeoutSeconds: 2,
        readBatching: false,
        readBatchMax: 7,
      },
      sleepMaxSeconds: 2,
      bodyLimitBytes: 100,
      shutdownTimeoutMs: 0,
      accessLog: false,
      metrics: false,
      idempotencyKeyTtlSeconds: 60,
      log: { dir: '/var/log/w', maxBytes: 4096, files: 2 },
    });
  });

  it('reads ACCESS_LOG as 1/0/true/false and refuses anything else', () => {
    for (const on of ['1', 'true', 'TRUE', ' 1 ', ''])
      expect(loadWorkerConfig({ ACCESS_LOG: on }).accessLog, on).to.equal(true);
    for (const off of ['0', 'false', 'False'])
      expect(loadWorkerConfig({ ACCESS_LOG: off }).accessLog, off).to.equal(false);
    expect(() => loadWorkerConfig({ ACCESS_LOG: 'off' })).to.throw(
      '  - ACCESS_LOG must be 1, 0, true or false, got "off".',
    );
  });

  it('reads DB_READ_BATCHING as 1/0/true/false, on by default', () => {
    expect(loadWorkerConfig({}).db.readBatching).to.equal(true);
    for (const off of ['0', 'false'])
      expect(loadWorkerConfig({ DB_READ_BATCHING: off }).db.readBatching, off).to.equal(false);
    expect(() => loadWorkerConfig({ DB_READ_BATCHING: 'off' })).to.throw(
      '  - DB_READ_BATCHING must be 1, 0, true or false, got "off".',
    );
  });

  it('reads DB_READ_BATCH_MAX as 1 to 1000 ids per coalesced read', () => {
    expect(loadWorkerConfig({ DB_READ_BATCH_MAX: '1000' }).db.readBatchMax).to.equal(1000);
    for (const bad of ['0', '1001', '8.5']) {
      expect(() => loadWorkerConfig({ DB_READ_BATCH_MAX: bad }), bad).to.throw(
        `  - DB_READ_BATCH_MAX must be a whole number from 1 to 1000, got "${bad}".`,
      );
    }
  });

  it('reads METRICS as 1/0/true/false, on by default, and refuses anything else', () => {
    for (const on of ['1', 'true', 'TRUE', ' 1 ', ''])
      expect(loadWorkerConfig({ METRICS: on }).metrics, on).to.equal(true);
    for (const off of ['0', 'false', 'False', ' 0 '])
      expect(loadWorkerConfig({ METRICS: off }).metrics, off).to.equal(false);
    for (const bad of ['off', 'no', '2']) {
      expect(() => loadWorkerConfig({ METRICS: bad }), bad).to.throw(
        `  - METRICS must be 1, 0, true or false, got "${bad}".`,
      );
    }
  });

  it('derives the query timeout from SLEEP_MAX_SECONDS', () => {
    expect(loadWorkerConfig({ SLEEP_MAX_SECONDS: '10' }).db.queryTimeoutMs).to.equal(15_000);
  });

  it('reports every problem at once', () => {
    expect(() => loadWorkerConfig({ PORT: 'http', DB_POOL_SIZE: '0', DB_ACQUIRE_TIMEOUT_MS: '-5' })).to.throw(
      'Invalid worker configuration:\n' +
        '  - PORT must be a whole number from 1 to 65535, got "http".\n' +
        '  - DB_POOL_SIZE must be a whole number from 1 to 100, got "0".\n' +
        '  - DB_ACQUIRE_TIMEOUT_MS must be a whole number from 1 to 600000, got "-5".',
    );
  });

  it('refuses a query timeout the longest /sleep would always hit', () => {
    expect(() => loadWorkerConfig({ SLEEP_MAX_SECONDS: '10', DB_QUERY_TIMEOUT_MS: '10000' })).to.throw(
      /DB_QUERY_TIMEOUT_MS \(10000\) must exceed SLEEP_MAX_SECONDS \(10\)/,
    );
  });

  it('refuses a row-lock wait longer than the query timeout, among the other problems', () => {
    expect(() =>
      loadWorkerConfig({
        PORT: 'http',
        SLEEP_MAX_SECONDS: '1',
        DB_QUERY_TIMEOUT_MS: '6000',
        DB_LOCK_WAIT_TIMEOUT_SECONDS: '7',
      }),
    ).to.throw(
      'Invalid worker configuration:\n' +
        '  - PORT must be a whole number from 1 to 65535, got "http".\n' +
        '  - DB_LOCK_WAIT_TIMEOUT_SECONDS (7) must not exceed DB_QUERY_TIMEOUT_MS (6000) in ms, or a write waiting for a locked row times out before it can be told 503 row_locked.',
    );
    expect(
      loadWorkerConfig({ SLEEP_MAX_SECONDS: '1', DB_QUERY_TIMEOUT_MS: '6000', DB_LOCK_WAIT_TIMEOUT_SECONDS: '6' }).db
        .lockWaitTimeoutSeconds,
    ).to.equal(6);
  });
});

describe('loadWorkerConfig(env): the database password', () => {
  let folder: string;
  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-config-'));
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  it("reads DB_PASSWORD_FILE's first line, as the stack passes it so that pm2 never holds the value", () => {
    const file = path.join(folder, 'db-password');
    fs.writeFileSync(file, 'from-the-file\n', { mode: 0o600 });
    expect(loadWithoutPassword({ DB_PASSWORD_FILE: file, DB_PASSWORD: '' }).db.password).to.equal('from-the-file');
  });

  it('refuses to start without a password, with both forms, or with a file it cannot read, never printing a value', () => {
    const missing = path.join(folder, 'missing');
    expect(() => loadWithoutPassword({})).to.throw(
      '  - DB_PASSWORD_FILE (or DB_PASSWORD) must be set: the account has a password.',
    );
    expect(() => loadWithoutPassword({ DB_PASSWORD: '' })).to.throw('DB_PASSWORD_FILE (or DB_PASSWORD) must be set');
    expect(() => loadWithoutPassword({ DB_PASSWORD: 'x1', DB_PASSWORD_FILE: missing })).to.throw(
      '  - DB_PASSWORD and DB_PASSWORD_FILE are both set; set one of them.',
    );
    expect(() => loadWithoutPassword({ DB_PASSWORD_FILE: missing })).to.throw(
      `  - DB_PASSWORD_FILE ${missing} cannot be read (ENOENT).`,
    );
  });
});

describe('loadWorkerConfig(env) against HAProxy idle timeouts', () => {
  it("keeps /sleep and statements below HAProxy's 300 s timeout server", () => {
    expect(() => loadWorkerConfig({ SLEEP_MAX_SECONDS: '300', DB_QUERY_TIMEOUT_MS: '296000' })).to.throw(
      'Invalid worker configuration:\n' +
        '  - SLEEP_MAX_SECONDS must be a whole number from 0 to 290, got "300".\n' +
        '  - DB_QUERY_TIMEOUT_MS must be a whole number from 1 to 295000, got "296000".',
    );
  });
});
