// Named queries over the pool. Every statement is sent as a server-side prepared statement (prepare, then
// execute), so values never become part of the SQL text, and the worker knows whether a statement left
// for the server at all (a write that never did cannot have been applied). Each run is timed and reported
// under its name. A statement that runs too long is interrupted by the server (the pool's
// statementTimeoutMs) and its connection kept; should the server not answer even then, the client-side
// timeout here closes the connection and has the server stop the statement (KILL QUERY), so one stuck
// query cannot hold the worker's only connection forever.
import type { DbPool, JoinedRequest, Lease } from './pool';
import { Cancellation, type CancelSignal } from './cancel-signal';
import type { CancelResult, DbObserver, QueryOutcome, ReadBatchKind } from './observer';
import {
  driverErrorCode,
  isConnectionError,
  isQueryInterrupted,
  isServerStatementTimeout,
  OutcomeUnknownError,
  QueryTimeoutError,
  withStatement,
} from './errors';
import { cancelled, GateRejectedError } from './gate';
import type { KillAnswer } from './kill-queries';
import { poolClosing } from './pool';
import { currentRequestId } from './request-waits';

export type SqlValue = string | number | null;

export interface QueryOptions {
  /** Safe to run twice: a read. Retried once on a fresh connection when the old one turns out dead. */
  idempotent?: boolean;
  /**
   * The statement changes data (INSERT, UPDATE, DELETE): never retried, never stopped once sent, and
   * when its connection breaks (or the backstop closes it) after it was sent, it fails with
   * OutcomeUnknownError: the server may have applied it. Before it was sent, a failure stays what it is.
   */
  write?: boolean;
  timeoutMs?: number;
  /**
   * Aborts when the HTTP client has gone away. Until the statement is sent (queued, a new connection
   * opening, the PREPARE round trip) it is dropped and never runs. Once running, a read is stopped on the
   * server (KILL QUERY over a side connection; the pooled connection stays open) and counted with
   * outcome `cancelled`; a write runs to its end.
   */
  signal?: CancelSignal;
  /**
   * A read that may share one execution with identical reads (same name, SQL and values) that queue for
   * the connection at the same time (DB_READ_BATCHING). Only for reads: needs `idempotent`, not `write`.
   */
  batch?: boolean;
}

/**
 * A read of rows by key that requests asking for different keys can share (the DataLoader pattern): one
 * statement for every key asked for while it queued. Db.readByKey() runs it.
 */
export interface KeyedRead<R> {
  /** The SELECT for some keys; `inList` is the placeholders for `WHERE key IN (...)`: "?, ?, ?". */
  sql(inList: string): string;
  /** The key a returned row answers (of the same type as the keys asked for: rows are matched with ===). */
  keyOf(row: R): SqlValue;
}

/** A statement's text and values, made as it is sent: a coalesced read knows its keys only then. */
type StatementOf = () => { sql: string; values: SqlValue[] };

/** What became of one statement on its way to the server, for the caller to classify its failure. */
class StatementProgress {
  /** The statement's EXECUTE was handed to the connection: from here the server may run it. */
  sent = false;
  /** The KILL QUERY aimed at it, when one was started. */
  cancellation?: Promise<KillAnswer | 'failed'>;
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

/**
 * Reads waiting for the connection, served by one statement: identical reads, or point reads of different
 * keys (coalesced: the statement asks for every member's key). It is sent after every member arrived, so
 * each member sees every write committed before it arrived; it leaves `batches` just before it is sent
 * (or once it is full), so nobody joins a statement already in flight (whose snapshot may predate their
 * writes).
 */
class ReadBatch {
  /** A coalesced read's keys, in the order they were first asked for. */
  readonly keys = new Set<SqlValue>();
  /** Members still waiting for the answer (a member whose client left while queued is dropped). */
  members = 0;
  /** The member whose queue place the statement holds: the first (undefined), or one who took it over. */
  holder?: JoinedRequest;
  /** The other members still queued, each with its own place in the pool's queue. */
  readonly joined = new Set<JoinedRequest>();
  /** Aborts once every member's client has gone: the statement is dropped, or stopped on the server. */
  readonly everyoneGone = new Cancellation();
  sent = false;
  result!: Promise<unknown>;
}

export class Db {
  /** Errors thrown while opening a connection (as opposed to on an open one). */
  private readonly connectFailures = new WeakSet<object>();
  /** Read batches that still take members, by name, SQL and values (a coalesced read: by name and SQL). */
  private readonly batches = new Map<string, ReadBatch>();
  /** Whether the last statement that finished reached the database (undefined before the first). */
  private lastReachedDatabase: boolean | undefined;

  constructor(
    private readonly pool: DbPool,
    private readonly observer: DbObserver,
    /** Client-side timeout (the backstop); keep it above the pool's server-side statementTimeoutMs. */
    private readonly defaultTimeoutMs: number,
    /** The server-side limit, named in the error message when the server interrupts a statement. */
    private readonly statementTimeoutMs?: number,
  ) {
    const max = this.pool.readBatchMax;
    if (!(Number.isInteger(max) && max >= 1))
      throw new TypeError("The pool's readBatchMax must be a whole number of at least 1.");
  }

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
  query<T>(name: string, sql: string, values: SqlValue[] = [], options: QueryOptions = {}): Promise<T> {
    if (options.batch && options.idempotent && !options.write && this.pool.readBatching) {
      return this.batched<T>(name, sql, values, options);
    }
    return this.run<T>(name, () => ({ sql, values }), options);
  }

  /**
   * The row with `key`, or undefined: a read (idempotent, cancelled when `signal` fires). With
   * DB_READ_BATCHING on, reads of `read` that queue for the connection at the same time share one
   * statement for all their keys (at most the pool's readBatchMax different keys each), sent after every
   * one of them arrived, under the same rules as identical reads; each gets its own row, or undefined.
   */
  async readByKey<R>(
    name: string,
    read: KeyedRead<R>,
    key: SqlValue,
    options: { signal?: CancelSignal; timeoutMs?: number } = {},
  ): Promise<R | undefined> {
    const reading: QueryOptions = { signal: options.signal, timeoutMs: options.timeoutMs, idempotent: true };
    if (!this.pool.readBatching) {
      const rows = await this.run<R[]>(name, () => ({ sql: singleKeySql(read), values: [key] }), reading);
      return rows.find((row) => read.keyOf(row) === key);
    }
    const max = this.pool.readBatchMax;
    const rows = await this.share<Map<SqlValue, R>>(
      coalescedBatchKey(read, name, options.timeoutMs),
      name,
      'coalesced',
      options.signal,
      (batch) => batch.keys.has(key) || batch.keys.size < max,
      (batch) => batch.keys.add(key),
      (batch, beforeSend) =>
        this.run<R[]>(
          name,
          () => inList(read, [...batch.keys]),
          { ...reading, signal: batch.everyoneGone.signal },
          beforeSend,
        ).then((found) => new Map(found.map((row) => [read.keyOf(row), row]))),
    );
    return rows.get(key);
  }

  private async run<T>(
    name: string,
    statement: StatementOf,
    options: QueryOptions,
    beforeSend?: () => void,
  ): Promise<T> {
    // Named now, synchronously inside the caller's chargeWaitsTo: the exemplar of this query's duration.
    const requestId = currentRequestId();
    const attempts = options.idempotent && !options.write ? 2 : 1;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.runOnce<T>(name, statement, options, beforeSend, requestId);
      } catch (error) {
        // A pooled connection that sat idle may have been closed by the proxy or server since its last
        // use; the first statement on it fails with a connection error. Reads go once more on a new one.
        // A failed connect is not retried: a new connection would meet the same refusal, and the
        // client should get its 503 without waiting twice.
        if (
          attempt < attempts &&
          isConnectionError(error) &&
          !(error instanceof QueryTimeoutError) &&
          !this.connectFailures.has(error as object)
        )
          continue;
        throw error;
      }
    }
  }

  /**
   * Runs `work` as one transaction on one leased connection: committed when `work` resolves, rolled back
   * when it throws. For a write that needs more than one statement (read the row FOR UPDATE, then change
   * it) without giving the worker's only connection away in between. It is one query in the metrics,
   * under `name`; all its statements share one timeout. Like any write, it is never retried nor
   * cancelled, and a COMMIT sent but not confirmed fails with OutcomeUnknownError.
   *
   * With a server-side limit (statementTimeoutMs), each statement is sent with what is left of it as its
   * own limit (MariaDB's SET STATEMENT max_statement_time=... FOR), and the worker's backstop stays above
   * that: a slow but healthy server stops the statement itself, and a stopped COMMIT is rolled back,
   * instead of the worker closing the connection while the server goes on to commit. `timeoutMs`
   * replaces the budget (the server's, or without one the worker's).
   */
  async transaction<T>(
    name: string,
    work: (tx: Transaction) => Promise<T>,
    options: { timeoutMs?: number } = {},
  ): Promise<T> {
    const requestId = currentRequestId();
    const lease = await this.lease(name);
    const queryStarted = performance.now();
    const budgetMs = options.timeoutMs ?? this.statementTimeoutMs ?? this.defaultTimeoutMs;
    const deadline = queryStarted + budgetMs;
    const limitLeft = (): StatementLimit => {
      const leftMs = Math.max(1, deadline - performance.now());
      return this.statementTimeoutMs === undefined
        ? { clientMs: leftMs, clientBudgetMs: budgetMs, serverBudgetMs: budgetMs }
        : {
            clientMs: leftMs + this.backstopMarginMs,
            serverMs: leftMs,
            clientBudgetMs: budgetMs + this.backstopMarginMs,
            serverBudgetMs: budgetMs,
          };
    };
    const run = <R>(sql: string, values: SqlValue[] = []): Promise<R> =>
      this.execute<R>(lease, name, sql, values, limitLeft());
    let ended = false;
    const tx: Transaction = {
      query: <R>(sql: string, values: SqlValue[] = []) =>
        ended ? Promise.reject(new Error(`Transaction "${name}" was used after it ended.`)) : run<R>(sql, values),
    };
    let began = false;
    let committing = false;
    const commit = new StatementProgress();
    let destroy = false;
    try {
      await run('START TRANSACTION');
      began = true;
      const result = await work(tx);
      ended = true;
      committing = true;
      await this.execute(lease, name, 'COMMIT', [], limitLeft(), commit);
      this.finish(name, 'ok', queryStarted, undefined, requestId);
      return result;
    } catch (error) {
      ended = true;
      destroy = mustClose(error);
      // A connection that may still be inside the transaction must not go back to the pool: roll back,
      // and close it if even that fails (the server rolls back what a closed connection left open).
      if (began && !destroy) {
        const limit = {
          clientMs: ROLLBACK_TIMEOUT_MS,
          clientBudgetMs: ROLLBACK_TIMEOUT_MS,
          serverBudgetMs: ROLLBACK_TIMEOUT_MS,
        };
        await this.execute(lease, name, 'ROLLBACK', [], limit).catch(() => (destroy = true));
      }
      this.finish(name, error instanceof QueryTimeoutError ? 'timeout' : 'error', queryStarted, error, requestId);
      // A COMMIT the server may still be running when its connection closed, or one stopped by someone
      // else's KILL QUERY (which may come after it committed): perhaps applied. One never sent was not.
      throw committing && commit.sent && (mustClose(error) || isQueryInterrupted(error))
        ? new OutcomeUnknownError(name, error)
        : error;
    } finally {
      lease.release(destroy);
    }
  }

  /** A batchable read: shares the identical read waiting for the connection, if there is one. */
  private batched<T>(name: string, sql: string, values: SqlValue[], options: QueryOptions): Promise<T> {
    return this.share<T>(
      `${name}\u0000${options.timeoutMs ?? ''}\u0000${sql}\u0000${JSON.stringify(values)}`,
      name,
      'identical',
      options.signal,
      () => true,
      () => undefined,
      (batch, beforeSend) =>
        this.run<T>(name, () => ({ sql, values }), { ...options, signal: batch.everyoneGone.signal }, beforeSend),
    );
  }

  /**
   * The one place reads share statements: joins the batch under `key` that waits for the connection if
   * it `fits` the newcomer, else starts one (`send` runs it, calling `beforeSend` just before it goes),
   * which later reads may join until it is sent. `enter` adds a member's part (a coalesced read's key).
   * A full batch stays queued, and the next one takes its place under `key`.
   */
  private share<T>(
    key: string,
    name: string,
    kind: ReadBatchKind,
    signal: CancelSignal | undefined,
    fits: (batch: ReadBatch) => boolean,
    enter: (batch: ReadBatch) => void,
    send: (batch: ReadBatch, beforeSend: () => void) => Promise<T>,
  ): Promise<T> {
    // A client already gone is refused as the pool would refuse it, before it joins or starts anything.
    if (signal?.aborted) return Promise.reject(cancelled());
    const queued = this.batches.get(key);
    if (queued && fits(queued)) {
      let joined: JoinedRequest;
      try {
        joined = this.pool.joinQueue(); // queue_full past the request limit; the batch goes on
      } catch (error) {
        return Promise.reject(error);
      }
      queued.joined.add(joined);
      enter(queued);
      return this.member<T>(queued, signal, joined);
    }
    const batch = new ReadBatch();
    this.batches.set(key, batch);
    const unlist = () => {
      if (this.batches.get(key) === batch) this.batches.delete(key);
    };
    batch.everyoneGone.signal.addEventListener('abort', unlist, { once: true });
    enter(batch);
    batch.result = send(batch, () => {
      unlist();
      batch.sent = true;
      for (const joined of batch.joined) joined.served();
      batch.joined.clear();
      this.observer.readBatched(name, batch.members, kind);
    });
    batch.result.catch((error: unknown) => {
      unlist();
      for (const joined of batch.joined) joined.refused(error);
      batch.joined.clear();
    });
    return this.member<T>(batch, signal);
  }

  /** One request's share of a batch: its answer, or its own cancellation while the batch still waits. */
  private member<T>(batch: ReadBatch, signal: CancelSignal | undefined, joined?: JoinedRequest): Promise<T> {
    batch.members += 1;
    return new Promise<T>((resolve, reject) => {
      let left = false;
      const onAbort = () => {
        batch.members -= 1;
        if (!batch.sent) {
          // Gone while queued: leaves at once (499), like a request that queued alone.
          left = true;
          if (batch.holder === joined) {
            // The statement's own queue place was this member's: another member takes it over, so
            // `pending` still counts one per waiting request.
            const heir = [...batch.joined].find((other) => other !== joined);
            heir?.takeOver();
            batch.holder = heir;
          }
          if (joined && batch.joined.delete(joined)) joined.refused(cancelled());
          reject(cancelled());
        }
        if (batch.members === 0) batch.everyoneGone.abort();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      batch.result.then(
        (result) => {
          signal?.removeEventListener('abort', onAbort);
          if (!left) resolve(result as T);
        },
        (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          if (!left) reject(error);
        },
      );
    });
  }

  private async runOnce<T>(
    name: string,
    statement: StatementOf,
    options: QueryOptions,
    beforeSend?: () => void,
    requestId?: string,
  ): Promise<T> {
    const { signal } = options;
    const progress = new StatementProgress();
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const limit = {
      clientMs: timeoutMs,
      clientBudgetMs: timeoutMs,
      serverBudgetMs: this.statementTimeoutMs ?? timeoutMs,
    };
    let queryStarted = 0;
    let running: Promise<T> | undefined;
    // The statement starts as the lease is made (see DbPool.acquire): when the connection is handed over
    // by a request that just got its answer, it is sent before that request does anything else.
    const lease = await this.lease(name, signal, (leased) => {
      // The query's own time starts once it holds the connection; the wait is db_pool_wait_seconds.
      queryStarted = performance.now();
      beforeSend?.();
      const { sql, values } = statement();
      // A write is never stopped once sent: it was received whole, and a KILL racing its commit would
      // only make its outcome harder to know. Only reads are cancelled when their client leaves.
      running = this.execute<T>(leased, name, sql, values, limit, progress, options.write ? undefined : signal);
      running.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    });
    let destroy = false;
    let failure: unknown;
    try {
      const result = await running!;
      this.finish(name, signal?.aborted ? 'cancelled' : 'ok', queryStarted, undefined, requestId);
      // The connection goes on to the next waiter now, before this request answers its client.
      if (!progress.cancellation) lease.release(false);
      return result;
    } catch (error) {
      failure = error;
      destroy = mustClose(error);
      // Dropped before it was sent (its client left during the PREPARE): it never ran, like a request
      // that left while queued, so it is no query in the metrics.
      if (error instanceof GateRejectedError && !progress.sent) throw error;
      if (progress.cancellation && isQueryInterrupted(error)) {
        this.finish(name, 'cancelled', queryStarted, undefined, requestId);
        throw stoppedForGoneClient();
      }
      this.finish(name, error instanceof QueryTimeoutError ? 'timeout' : 'error', queryStarted, error);
      throw options.write && progress.sent && destroy ? new OutcomeUnknownError(name, error) : error;
    } finally {
      if (progress.cancellation) {
        // The connection goes back only once the KILL is done: released earlier, it could be running
        // the next request's statement when the KILL arrives.
        const answer = await progress.cancellation;
        this.observer.queryCancelled('client_gone', cancelResult(answer, failure));
      }
      lease.release(destroy);
    }
  }

  /** The pool's connection for query `name`; a failed connect counts as that query's error. */
  private async lease(name: string, signal?: CancelSignal, onLeased?: (lease: Lease) => void): Promise<Lease> {
    const started = performance.now();
    try {
      return await this.pool.acquire(signal, onLeased, name);
    } catch (error) {
      // Pool refusals are counted by the pool itself; connect failures are this query's errors.
      if (!(error instanceof GateRejectedError)) this.finish(name, 'error', started, error);
      if (typeof error === 'object' && error !== null) this.connectFailures.add(error);
      throw error;
    }
  }

  /**
   * Prepares, then executes one statement on the lease's connection. `signal`: the statement is dropped
   * if it fires before the EXECUTE is sent, and stopped on the server (KILL QUERY) if it fires after.
   */
  private execute<T>(
    lease: Lease,
    name: string,
    sql: string,
    values: SqlValue[],
    limit: StatementLimit,
    progress = new StatementProgress(),
    signal?: CancelSignal,
  ): Promise<T> {
    // MariaDB takes seconds; a thousandth is its finest step, and 0 would mean "no limit".
    const text =
      limit.serverMs === undefined
        ? sql
        : `SET STATEMENT max_statement_time=${Math.max(0.001, Math.floor(limit.serverMs) / 1000)} FOR ${sql}`;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (error: unknown, result?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve(result as T);
        else reject(error);
      };
      const timer = setTimeout(() => {
        settle(new QueryTimeoutError(name, limit.clientBudgetMs));
        // Closing the connection (the caller does) does not stop the statement on the server.
        if (progress.sent) this.killGivenUp(lease);
      }, limit.clientMs);
      const onAbort = () => {
        if (progress.sent && !settled) progress.cancellation = this.kill(lease);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      lease.connection.prepare(text, (prepareError, statement) => {
        // A failed PREPARE ran nothing; a statement given up meanwhile (backstop) is not sent at all.
        if (prepareError) return settle(this.statementError(lease, name, limit, withStatement(prepareError, sql)));
        if (settled) return undefined;
        if (signal?.aborted) return settle(cancelled());
        progress.sent = true;
        statement.execute(values, (error, result) => {
          // mysql2 keeps each prepared text open on the server; with its limit in it every text is new, and
          // they would pile up to MariaDB's max_prepared_stmt_count (16382 for the whole server).
          if (text !== sql && !error?.fatal) lease.connection.unprepare(text);
          settle(error ? this.statementError(lease, name, limit, withStatement(error, sql)) : undefined, result as T);
        });
        return undefined;
      });
    });
  }

  /** The error a failed statement ends with. */
  private statementError(lease: Lease, name: string, limit: StatementLimit, error: unknown): unknown {
    if (lease.interrupted) return poolClosing();
    if (isServerStatementTimeout(error)) return new QueryTimeoutError(name, limit.serverBudgetMs, true);
    return error;
  }

  /** KILL QUERY for the statement running on `lease`; 'failed' when the side connection could not be opened. */
  private kill(lease: Lease): Promise<KillAnswer | 'failed'> {
    return this.pool.killStatement(lease).catch((): 'failed' => 'failed');
  }

  /** After the backstop: the statement's end is unknown, so what the KILL found is the result. */
  private killGivenUp(lease: Lease): void {
    void this.kill(lease).then((answer) =>
      this.observer.queryCancelled(
        'timeout',
        answer === 'sent' ? 'killed' : answer === 'no_such_thread' ? 'too_late' : 'failed',
      ),
    );
  }

  /** How far the worker's backstop stays above the server-side limit. */
  private get backstopMarginMs(): number {
    return Math.max(0, this.defaultTimeoutMs - (this.statementTimeoutMs ?? this.defaultTimeoutMs));
  }

  private finish(name: string, outcome: QueryOutcome, started: number, error?: unknown, requestId?: string): void {
    this.lastReachedDatabase = error === undefined || !isConnectionError(error);
    const seconds = (performance.now() - started) / 1000;
    const code = error === undefined ? undefined : driverErrorCode(error);
    this.observer.queryFinished(name, outcome, seconds, code, requestId);
  }
}

const singleKeySqls = new WeakMap<KeyedRead<unknown>, string>();

/** `read`'s statement for one key, made once per KeyedRead: part of every point read's batch key. */
function singleKeySql<R>(read: KeyedRead<R>): string {
  let sql = singleKeySqls.get(read as KeyedRead<unknown>);
  if (sql === undefined) singleKeySqls.set(read as KeyedRead<unknown>, (sql = read.sql('?')));
  return sql;
}

interface CoalescedBatchKey {
  name: string;
  timeoutMs: number | undefined;
  key: string;
}

const coalescedBatchKeys = new WeakMap<KeyedRead<unknown>, CoalescedBatchKey>();

/**
 * The key under which point reads of `read` coalesce (name, timeout and SQL), remembered per KeyedRead
 * for the name and timeout it was last asked with (a read has one caller in practice): made afresh, the
 * text is concatenated, flattened and hashed again for every request.
 */
function coalescedBatchKey<R>(read: KeyedRead<R>, name: string, timeoutMs: number | undefined): string {
  const last = coalescedBatchKeys.get(read as KeyedRead<unknown>);
  if (last !== undefined && last.name === name && last.timeoutMs === timeoutMs) return last.key;
  const key = `${name}\u0000${timeoutMs ?? ''}\u0000${singleKeySql(read)}`;
  coalescedBatchKeys.set(read as KeyedRead<unknown>, { name, timeoutMs, key });
  return key;
}

/**
 * The statement for a coalesced read of `keys`: padded to a power of two with the last key repeated, so a
 * connection prepares (and keeps) one text per size, at most log2(readBatchMax) + 1 of them.
 */
function inList<R>(read: KeyedRead<R>, keys: SqlValue[]): { sql: string; values: SqlValue[] } {
  const size = 2 ** Math.ceil(Math.log2(keys.length));
  const values = keys.concat(Array<SqlValue>(size - keys.length).fill(keys[keys.length - 1]!));
  return { sql: read.sql(Array<string>(size).fill('?').join(', ')), values };
}

/** Whether the KILL sent for a client that left stopped its statement, by how the statement ended. */
function cancelResult(answer: KillAnswer | 'failed', statementError: unknown): CancelResult {
  if (answer === 'failed') return 'failed';
  return isQueryInterrupted(statementError) ? 'killed' : 'too_late';
}

/** The answer for a read stopped on the server because its client left (499; nobody reads it). */
function stoppedForGoneClient(): GateRejectedError {
  return new GateRejectedError('cancelled', 'The client went away; its statement was stopped on the server.');
}

/** After a client-side timeout or a broken link the connection may be mid-statement or dead: close it. */
function mustClose(error: unknown): boolean {
  return (error instanceof QueryTimeoutError && !error.stoppedByServer) || isConnectionError(error);
}
