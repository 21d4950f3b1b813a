// The limit a one-connection worker cannot beat: one mysql2 connection (the app's account, the worker's
// charset) running the worker's statement back to back, the way server/db/db.ts sends it: a server-side
// prepared statement, connection.prepare() (answered from mysql2's per-connection statement cache after
// the first time, so no round trip) then statement.execute(). One EXECUTE round trip per query, nothing
// else: no HTTP, no pool, no JSON. Through HAProxy's port, straight to MariaDB's TCP port, or over its
// unix socket (the path HAProxy itself takes to the embedded server).
import mysql from 'mysql2';

/** The worker's `list_todos` (server/todos/repository.ts) for GET /todos. */
export const LIST_TODOS_SQL = 'SELECT id, item, status FROM todos ORDER BY id';
/** The worker's `get_todo` for GET /todos/:id. */
export const GET_TODO_SQL = 'SELECT id, item, status FROM todos WHERE id = ?';
/** One keyset page: the rows after a cursor, in id order (parameters: after, limit). */
export const PAGE_SQL = 'SELECT id, item, status FROM todos WHERE id > ? ORDER BY id LIMIT ?';

export type LimitTarget = { host: string; port: number } | { socketPath: string };

export interface LimitOptions {
  target: LimitTarget;
  user: string;
  password: string;
  database: string;
  sql?: string;
  /** The statement's parameters, new for each statement (e.g. a random id); none by default. */
  params?: () => unknown[];
  /** Back-to-back queries for this long, after `warmupSeconds` of the same (discarded). */
  seconds: number;
  warmupSeconds?: number;
}

export interface LimitResult {
  queries: number;
  wallSeconds: number;
  qps: number;
  /** Per-query round trip (prepare + execute), milliseconds. */
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU seconds this process (the client) used while measuring. */
  clientCpuSeconds: number;
  rows: number;
}

function connect(options: LimitOptions): Promise<mysql.Connection> {
  return new Promise((resolve, reject) => {
    const connection = mysql.createConnection({
      ...options.target,
      user: options.user,
      password: options.password,
      database: options.database,
      charset: 'utf8mb4_unicode_ci',
    });
    connection.connect((error) => (error ? reject(error) : resolve(connection)));
  });
}

function once(connection: mysql.Connection, sql: string, params: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    connection.prepare(sql, (prepareError, statement) => {
      if (prepareError) return reject(prepareError);
      statement.execute(params, (error, rows) =>
        error ? reject(error) : resolve(Array.isArray(rows) ? rows.length : 0),
      );
      return undefined;
    });
  });
}

function percentileOf(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function measureLimit(options: LimitOptions): Promise<LimitResult> {
  const sql = options.sql ?? LIST_TODOS_SQL;
  const params = options.params ?? (() => []);
  const connection = await connect(options);
  try {
    let rows = 0;
    const warmUntil = performance.now() + (options.warmupSeconds ?? 0) * 1000;
    while (performance.now() < warmUntil) rows = await once(connection, sql, params());
    // Latencies in a preallocated buffer (grown when full): no per-query allocation beyond mysql2's own.
    let samples = new Float64Array(1 << 16);
    let queries = 0;
    let errors = 0;
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + options.seconds * 1000;
    for (let now = t0; now < end;) {
      try {
        rows = await once(connection, sql, params());
      } catch (error) {
        errors += 1;
        if ((error as { fatal?: boolean }).fatal) throw error;
      }
      const after = performance.now();
      if (queries === samples.length) {
        const bigger = new Float64Array(samples.length * 2);
        bigger.set(samples);
        samples = bigger;
      }
      samples[queries++] = after - now;
      now = after;
    }
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const sorted = samples.subarray(0, queries).sort();
    return {
      queries,
      wallSeconds,
      qps: queries / wallSeconds,
      p50Ms: percentileOf(sorted, 50),
      p99Ms: percentileOf(sorted, 99),
      errors,
      clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
      rows,
    };
  } finally {
    await new Promise<void>((resolve) => connection.end(() => resolve()));
  }
}
