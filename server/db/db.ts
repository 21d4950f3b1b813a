// Named queries over the pool. Every statement is sent as a server-side prepared statement (`execute`),
// so values never become part of the SQL text. Each run is timed and reported under its name. A statement
// that runs too long is interrupted by the server (the pool's statementTimeoutMs) and its connection kept;
// should the server not answer even then, the client-side timeout here closes the connection, so one
// stuck query cannot hold the worker's only connection forever.
import type { DbPool, Lease } from './pool';
import type { DbObserver, QueryOutcome } from './observer';
import { driverErrorCode, isConnectionError, isServerStatementTimeout, QueryTimeoutError } from './errors';
import { GateRejectedError } from './gate';

export type SqlValue = string | number | null;

export interface QueryOptions {
  /** Safe to run twice: a read. Retried once on a fresh connection when the old one turns out dead. */
  idempotent?: boolean;
  timeoutMs?: number;
  /**
   * Aborts when the HTTP client has gone away. While waiting for the connection the query is dropped
   * (it never runs); once running it finishes (MySQL cannot be interrupted without a second
   * connection) and is counted with outcome `cancelled`, its result discarded.
   */
  signal?: AbortSignal;
}

export interface WriteResult {
  affectedRows: number;
  insertId: number;
}

/** The statements of one transaction: all on the same leased connection, sharing one timeout. */
export interface Transaction {
  query<T>(sql: string, values?: SqlValue[]): Promise<T>;
}

export class Db {
  /** Errors thrown while opening a connection (as opposed to on an open one). */
  private readonly connectFailures = new WeakSet<object>();
  /** Whether the last statement that finished reached the database (undefined before the first). */
  private lastReachedDatabase: boolean | undefined;

  constructor(
    private readonly pool: DbPool,
    private readonly observer: DbObserver,
    /** Client-side timeout (the backstop); keep it above the pool's server-side statementTimeoutMs. */
    private readonly defaultTimeoutMs: number,
    /** The server-side limit, named in the error message when the server interrupts a statement. */
    private readonly statementTimeoutMs?: number,
  ) {}

  get poolStats() {
    return this.pool.stats();
  }

  /**
   * What the latest finished statement says of the path to MySQL: true when it got an answer (even an
   * SQL error), false when the connection failed. Lets a readiness probe answer without queueing
   * behind a busy pool.
   */
  get lastStatementReachedDatabase(): boolean | undefined {
    return this.lastReachedDatabase;
  }

  /** Runs one statement and returns its rows (for SELECT) or its result header (for writes). */
  async query<T>(name: string, sql: string, values: SqlValue[] = [], options: QueryOptions = {}): Promise<T> {
    const attempts = options.idempotent ? 2 : 1;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.runOnce<T>(name, sql, values, options.timeoutMs ?? this.defaultTimeoutMs, options.signal);
      } catch (error) {
        // A pooled connection that sat idle may have been closed by the proxy or server since its last
        // use; the first statement on it fails with a connection error. Reads go once more on a new one.
        // A failed connect is not retried: a new connection would meet the same refusal, and the
        // client should get its 503 without waiting twice.
        if (attempt < attempts && isConnectionError(error) && !(error instanceof QueryTimeoutError)
          && !this.connectFailures.has(error as object)) continue;
        throw error;
      }
    }
  }

  /**
   * Runs `work` as one transaction on one leased connection: committed when `work` resolves, rolled back
   * when it throws. For a write that needs more than one statement (read the row FOR UPDATE, then change
   * it) without giving the worker's only connection away in between. It is one query in the metrics,
   * under `name`; all its statements share one timeout. Like any write, it is never retried.
   */
  async transaction<T>(name: string, work: (tx: Transaction) => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    const lease = await this.lease(name);
    const queryStarted = performance.now();
    const deadline = queryStarted + (options.timeoutMs ?? this.defaultTimeoutMs);
    const run = <R>(sql: string, values: SqlValue[] = []): Promise<R> =>
      this.execute<R>(lease, name, sql, values, Math.max(1, deadline - performance.now()));
    let ended = false;
    const tx: Transaction = {
      query: <R>(sql: string, values: SqlValue[] = []) => (ended
        ? Promise.reject(new Error(`Transaction "${name}" was used after it ended.`))
        : run<R>(sql, values)),
    };
    let began = false;
    let destroy = false;
    try {
      await run('START TRANSACTION');
      began = true;
      const result = await work(tx);
      ended = true;
      await run('COMMIT');
      this.finish(name, 'ok', queryStarted);
      return result;
    } catch (error) {
      ended = true;
      destroy = mustClose(error);
      // A connection that may still be inside the transaction must not go back to the pool: roll back,
      // and close it if even that fails (the server rolls back what a closed connection left open).
      if (began && !destroy) await run('ROLLBACK').catch(() => (destroy = true));
      this.finish(name, error instanceof QueryTimeoutError ? 'timeout' : 'error', queryStarted, error);
      throw error;
    } finally {
      lease.release(destroy);
    }
  }

  private async runOnce<T>(name: string, sql: string, values: SqlValue[], timeoutMs: number, signal?: AbortSignal): Promise<T> {
    const lease = await this.lease(name, signal);
    // The query's own time starts once it holds the connection; the wait is db_pool_wait_seconds.
    const queryStarted = performance.now();
    let destroy = false;
    try {
      const result = await this.execute<T>(lease, name, sql, values, timeoutMs);
      this.finish(name, signal?.aborted ? 'cancelled' : 'ok', queryStarted);
      return result;
    } catch (error) {
      destroy = mustClose(error);
      this.finish(name, error instanceof QueryTimeoutError ? 'timeout' : 'error', queryStarted, error);
      throw error;
    } finally {
      lease.release(destroy);
    }
  }

  /** The pool's connection for query `name`; a failed connect counts as that query's error. */
  private async lease(name: string, signal?: AbortSignal): Promise<Lease> {
    const started = performance.now();
    try {
      return await this.pool.acquire(signal);
    } catch (error) {
      // Pool refusals are counted by the pool itself; connect failures are this query's errors.
      if (!(error instanceof GateRejectedError)) this.finish(name, 'error', started, error);
      if (typeof error === 'object' && error !== null) this.connectFailures.add(error);
      throw error;
    }
  }

  private execute<T>(lease: Lease, name: string, sql: string, values: SqlValue[], timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new QueryTimeoutError(name, timeoutMs)), timeoutMs);
      lease.connection.execute(sql, values, (error, result) => {
        clearTimeout(timer);
        if (error && isServerStatementTimeout(error)) reject(new QueryTimeoutError(name, this.statementTimeoutMs ?? timeoutMs, true));
        else if (error) reject(error);
        else resolve(result as T);
      });
    });
  }

  private finish(name: string, outcome: QueryOutcome, started: number, error?: unknown): void {
    this.lastReachedDatabase = error === undefined || !isConnectionError(error);
    const seconds = (performance.now() - started) / 1000;
    this.observer.queryFinished(name, outcome, seconds, error === undefined ? undefined : driverErrorCode(error));
  }
}

/** After a client-side timeout or a broken link the connection may be mid-statement or dead: close it. */
function mustClose(error: unknown): boolean {
  return (error instanceof QueryTimeoutError && !error.stoppedByServer) || isConnectionError(error);
}
