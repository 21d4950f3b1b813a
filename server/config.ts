// The worker's configuration: the only reader of process.env in server/. Every problem is reported at
// once, so a misconfigured worker fails at boot with the whole list instead of one error at a time.
// The variables, their defaults and meaning are listed in env/worker-settings.ts (the schema `.env.example`
// is generated from); env/reader.ts words every problem, the same way for the stack's settings.

import fs from 'node:fs';
import { EnvReader, type Env } from './env/reader';
import { requirePasswordSetting } from './password-setting';

export interface WorkerConfig {
  port: number;
  host: string;
  /** The pm2 app name; every metric carries it as the `worker` label. */
  workerName: string;
  db: {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
    poolSize: number;
    /** DB_QUEUE_LIMIT: requests that may wait for the connection, counting those sharing a statement. */
    queueLimit: number;
    /** DB_QUEUE_STATEMENT_LIMIT: statements that may wait (a shared one counts once); at most queueLimit. */
    statementQueueLimit: number;
    acquireTimeoutMs: number;
    connectTimeoutMs: number;
    queryTimeoutMs: number;
    lockWaitTimeoutSeconds: number;
    /** DB_READ_BATCHING: identical reads queued for the connection share one statement (on unless 0/false). */
    readBatching: boolean;
    /** DB_READ_BATCH_MAX: different ids one coalesced GET /todos/:id statement asks for. */
    readBatchMax: number;
    /**
     * DB_TLS_CA_FILE: connect with TLS, verifying the server's certificate chain against this CA (PEM);
     * set by the stack over several hosts (STACK_HOSTS). The name is not checked: the worker dials its
     * own host's HAProxy, and the node behind it changes (docs/multi-host.md).
     */
    tlsCa?: string;
  };
  sleepMaxSeconds: number;
  /** Largest JSON request body accepted, in bytes. */
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  /** One JSON line per request in the worker's log (ACCESS_LOG, on unless 0/false). */
  accessLog: boolean;
  /**
   * The worker's log (server/log/): `<LOG_DIR>/<WORKER_NAME>.log`, rotated at LOG_MAX_BYTES with LOG_FILES
   * older files kept; on stdout when LOG_DIR is not set (a worker started by hand, the tests).
   */
  log: { dir: string | undefined; maxBytes: number; files: number };
  /**
   * Prometheus recording (METRICS, on unless 0/false): off, the worker keeps no registry at all (no HTTP,
   * pool, query or process metrics) and /metrics answers 404. For measuring what recording costs.
   */
  metrics: boolean;
  /** How long an Idempotency-Key and its stored answer are kept (IDEMPOTENCY_KEY_TTL_SECONDS). */
  idempotencyKeyTtlSeconds: number;
}

/**
 * The configuration and every problem found, without throwing: the stack's own check
 * (cluster/settings.ts) lists these together with its problems before anything starts. `read` is given
 * by the stack (its problems join the stack's) and by the schema test (which variables were asked for).
 */
export function readWorkerConfig(env: Env, read = new EnvReader(env)): { config: WorkerConfig; problems: string[] } {
  const port = read.int('PORT', 8000, 1, 65535);
  // HAProxy's `timeout client/server` (300 s, haproxy/haproxy.cfg) cut any longer silent statement.
  const sleepMaxSeconds = read.int('SLEEP_MAX_SECONDS', 60, 0, 290);
  const config: WorkerConfig = {
    port,
    host: read.string('WORKER_HOST', '127.0.0.1'),
    workerName: read.string('WORKER_NAME', `worker-${port}`),
    db: {
      host: read.string('HAPROXY_HOST', '127.0.0.1'),
      port: read.int('HAPROXY_PORT', 5555, 1, 65535),
      user: read.string('DB_USER', 'haproxy_user'),
      // DB_PASSWORD_FILE is what the stack gives (its 0600 secrets file), so pm2 never stores the value.
      password: requirePasswordSetting(env, 'DB_PASSWORD', read.problems),
      // The database the migrations in sql/ create; not configurable, so the two can never disagree.
      database: 'test',
      poolSize: read.int('DB_POOL_SIZE', 1, 1, 100),
      // The wait a request can meet is bounded by the statements ahead of it, not by the requests: reads
      // sharing a statement add no wait (README, "The one connection's queue"). So the statements
      // waiting are bounded at 50 (a burst of slow /sleep is refused at the 51st, as it always was), and
      // the requests, which only cost memory (a few kB each), at 1000: more than the front door's
      // maxconn 200 lets reach a worker, enough for hundreds of clients of fast reads on a worker's port.
      queueLimit: read.int('DB_QUEUE_LIMIT', 1000, 0, 100_000),
      statementQueueLimit: read.int('DB_QUEUE_STATEMENT_LIMIT', 50, 0, 100_000),
      acquireTimeoutMs: read.int('DB_ACQUIRE_TIMEOUT_MS', 10_000, 1, 600_000),
      connectTimeoutMs: read.int('DB_CONNECT_TIMEOUT_MS', 3_000, 1, 600_000),
      // Long enough for the longest permitted /sleep, so only a genuinely stuck statement times out.
      queryTimeoutMs: read.int('DB_QUERY_TIMEOUT_MS', (sleepMaxSeconds + 5) * 1000, 1, 295_000),
      lockWaitTimeoutSeconds: read.int('DB_LOCK_WAIT_TIMEOUT_SECONDS', 5, 1, 3600),
      // On: a batched read still sees every write committed before it arrived (README, "Read batching").
      readBatching: read.flag('DB_READ_BATCHING', true),
      // 64 ids: 64 clients of one worker fit in one statement, which takes about 3x a single-id read
      // (about 210 us against 70 us on 2 cores, 10,000 rows; 256 ids take 7x), so a coalesced read never
      // holds the connection for long, and a worker prepares at most 7 texts (1, 2, 4, ..., 64 ids).
      readBatchMax: read.int('DB_READ_BATCH_MAX', 64, 1, 1000),
      ...tlsCaOf(read.string('DB_TLS_CA_FILE', ''), read.problems),
    },
    sleepMaxSeconds,
    bodyLimitBytes: read.int('BODY_LIMIT_BYTES', 16 * 1024, 64, 10 * 1024 * 1024),
    shutdownTimeoutMs: read.int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    accessLog: read.flag('ACCESS_LOG', true),
    log: {
      dir: read.string('LOG_DIR', '') || undefined,
      // 16 MiB x (1 + 4 files) = at most 80 MiB per worker; a 16 MiB file still opens at once in less.
      maxBytes: read.int('LOG_MAX_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      files: read.int('LOG_FILES', 4, 1, 100),
    },
    metrics: read.flag('METRICS', true),
    // 24 h, as Stripe keeps keys; at most 30 days, so a forgotten setting cannot grow the table forever.
    idempotencyKeyTtlSeconds: read.int('IDEMPOTENCY_KEY_TTL_SECONDS', 24 * 3600, 1, 30 * 24 * 3600),
  };
  if (config.db.queryTimeoutMs <= sleepMaxSeconds * 1000) {
    read.problems.push(
      `DB_QUERY_TIMEOUT_MS (${config.db.queryTimeoutMs}) must exceed SLEEP_MAX_SECONDS (${sleepMaxSeconds}) in ms, or the longest /sleep always times out.`,
    );
  }
  if (config.db.lockWaitTimeoutSeconds * 1000 > config.db.queryTimeoutMs) {
    read.problems.push(
      `DB_LOCK_WAIT_TIMEOUT_SECONDS (${config.db.lockWaitTimeoutSeconds}) must not exceed DB_QUERY_TIMEOUT_MS (${config.db.queryTimeoutMs}) in ms, or a write waiting for a locked row times out before it can be told 503 row_locked.`,
    );
  }
  return { config, problems: read.problems };
}

/** The CA file's text, or a problem when it cannot be read; nothing when unset. */
function tlsCaOf(file: string, problems: string[]): { tlsCa?: string } {
  if (file === '') return {};
  try {
    return { tlsCa: fs.readFileSync(file, 'utf8') };
  } catch (error) {
    problems.push(`DB_TLS_CA_FILE (${file}) cannot be read: ${(error as Error).message}`);
    return {};
  }
}

export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const { config, problems } = readWorkerConfig(env);
  if (problems.length > 0) {
    throw new Error(`Invalid worker configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return config;
}
