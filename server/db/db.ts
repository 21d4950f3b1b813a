// Named queries over the pool. Every statement is sent as a server-side prepared statement (`execute`),
// so values never become part of the SQL text. Each run is timed and reported under its name. A statement
// that runs too long is interrupted by the server (the pool's statementTimeoutMs) and its connection kept;
// should the server not answer even then, the client-side timeout here closes the connection, so one
// stuck query cannot hold the worker's only connection forever.
import type { DbPool, Lease } from './pool';
import type { DbObserver, QueryOutcome } from './observer';
import { driverErrorCode, isConnectionError, isServerStatementTimeout, OutcomeUnknownError, QueryTimeoutError } from './errors';
import { GateRejectedError } from './gate';
import { poolClosing } from './pool';

export type SqlValue = string | number | null;

export interface QueryOptions {
  /** Safe to run twice: a read. Retried once on a fresh connection when the old one turns out dead. */
  idempotent?: boolean;
  timeoutMs?: number;
  /**
   * Aborts when the HTTP client has gone away. Until the connection is handed over (queued, or while a
   * new one is opened) the query is dropped (it never runs); once running it finishes (MySQL cannot be interrupted without a second
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

/** How long a statement may run, and the limits its timeout error names (a transaction's are its whole budget). */
interface StatementLimit {
  /** The worker's backstop: past it the connection is closed (the statement may still run on the server). */
  clientMs: number;
  /** Sent with the statement as its own server-side limit; undefined: the session's (the pool's). */
  serverMs?: number;
  clientBudgetMs: number;
  serverBudgetMs: number;
}

/** A ROLLBACK only undoes a few rows; one that takes longer than this is given up with its connection. */
const ROLLBACK_TIMEOUT_MS = 1000;

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
   *
   * With a server-side limit (statementTimeoutMs), each statement is sent with what is left of it as its
   * own limit (MariaDB's SET STATEMENT max_statement_time=... FOR), and the worker's backstop stays above
   * that: a slow but healthy server stops the statement itself, and a stopped COMMIT is rolled back,
   * instead of the worker closing the connection while the server goes on to commit. `timeoutMs`
   * replaces the budget (the server's, or without one the worker's).
   */
  async transaction<T>(name: string, work: (tx: Transaction) => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
    const lease = await this.lease(name);
    const queryStarted = performance.now();
    const budgetMs = options.timeoutMs ?? this.statementTimeoutMs ?? this.defaultTimeoutMs;
    const deadline = queryStarted + budgetMs;
    const limitLeft = (): StatementLimit => {
      const leftMs = Math.max(1, deadline - performance.now());
      return this.statementTimeoutMs === undefined
        ? { clientMs: leftMs, clientBudgetMs: budgetMs, serverBudgetMs: budgetMs }
        : { clientMs: leftMs + this.backstopMarginMs, serverMs: leftMs, clientBudgetMs: budgetMs + this.backstopMarginMs, serverBudgetMs: budgetMs };
    };
    const run = <R>(sql: string, values: SqlValue[] = []): Promise<R> => this.execute<R>(lease, name, sql, values, limitLeft());
    let ended = false;
    const tx: Transaction = {
      query: <R>(sql: string, values: SqlValue[] = []) => (ended
        ? Promise.reject(new Error(`Transaction "${name}" was used after it ended.`))
        : run<R>(sql, values)),
    };
    let began = false;
    let committing = false;
    let destroy = false;
    try {
      await run('START TRANSACTION');
      began = true;
      const result = await work(tx);
      ended = true;
      committing = true;
      await run('COMMIT');
      this.finish(name, 'ok', queryStarted);
      return result;
    } catch (error) {
      ended = true;
      destroy = mustClose(error);
      // A connection that may still be inside the transaction must not go back to the pool: roll back,
      // and close it if even that fails (the server rolls back what a closed connection left open).
      if (began && !destroy) {
        const limit = { clientMs: ROLLBACK_TIMEOUT_MS, clientBudgetMs: ROLLBACK_TIMEOUT_MS, serverBudgetMs: ROLLBACK_TIMEOUT_MS };
        await this.execute(lease, name, 'ROLLBACK', [], limit).catch(() => (destroy = true));
      }
      this.finish(name, error instanceof QueryTimeoutError ? 'timeout' : 'error', queryStarted, error);
      // A COMMIT the server may still be running when its connection closed: perhaps applied.
      throw committing && mustClose(error) ? new OutcomeUnknownError(name, error) : error;
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
      const limit = { clientMs: timeoutMs, clientBudgetMs: timeoutMs, serverBudgetMs: this.statementTimeoutMs ?? timeoutMs };
      const result = await this.execute<T>(lease, name, sql, values, limit);
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

  private execute<T>(lease: Lease, name: string, sql: string, values: SqlValue[], limit: StatementLimit): Promise<T> {
    // MariaDB takes seconds; a thousandth is its finest step, and 0 would mean "no limit".
    const text = limit.serverMs === undefined ? sql
      : `SET STATEMENT max_statement_time=${Math.max(0.001, Math.floor(limit.serverMs) / 1000)} FOR ${sql}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new QueryTimeoutError(name, limit.clientBudgetMs)), limit.clientMs);
      lease.connection.execute(text, values, (error, result) => {
        clearTimeout(timer);
        // mysql2 keeps each prepared text open on the server; with its limit in it every text is new, and
        // they would pile up to MariaDB's max_prepared_stmt_count (16382 for the whole server).
        if (text !== sql && !error?.fatal) lease.connection.unprepare(text);
        if (error && lease.interrupted) reject(poolClosing());
        else if (error && isServerStatementTimeout(error)) reject(new QueryTimeoutError(name, limit.serverBudgetMs, true));
        else if (error) reject(error);
        else resolve(result as T);
      });
    });
  }

  /** How far the worker's backstop stays above the server-side limit. */
  private get backstopMarginMs(): number {
    return Math.max(0, this.defaultTimeoutMs - (this.statementTimeoutMs ?? this.defaultTimeoutMs));
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
