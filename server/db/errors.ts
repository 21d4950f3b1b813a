// Errors the database layer raises on purpose, so callers can tell "come back later" from "broken".
export { GateRejectedError } from './gate';

export class QueryTimeoutError extends Error {
  readonly code = 'QUERY_TIMEOUT';
  /**
   * @param stoppedByServer true when MySQL itself interrupted the statement (max_statement_time): the
   * connection is intact and goes back to the pool. False when the client-side backstop fired: the
   * connection is closed, since it may still be busy with the statement.
   */
  constructor(
    readonly query: string,
    readonly timeoutMs: number,
    readonly stoppedByServer = false,
  ) {
    super(
      `Query "${query}" did not finish within ${Math.round(timeoutMs)} ms; ` +
        (stoppedByServer ? 'the database stopped it.' : 'its connection was closed.'),
    );
    this.name = 'QueryTimeoutError';
  }
}

/**
 * A transaction whose COMMIT the database never confirmed: the connection broke, or had to be closed,
 * after the COMMIT was sent. The server may still have applied it, so the client must not be told it failed.
 */
export class OutcomeUnknownError extends Error {
  readonly code = 'OUTCOME_UNKNOWN';
  constructor(
    readonly query: string,
    cause: unknown,
  ) {
    super(`Write "${query}" was sent but not confirmed by the database; it may have been applied.`, { cause });
    this.name = 'OutcomeUnknownError';
  }
}

/** MariaDB's max_statement_time (1969) and MySQL's max_execution_time (3024) interruptions. */
export function isServerStatementTimeout(error: unknown): boolean {
  // By number: mysql2's table of MySQL error names has no name for MariaDB's 1969.
  const errno = (error as DriverError | undefined)?.errno;
  return errno === 1969 || errno === 3024;
}

interface DriverError {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
}

/** Codes that mean "the path to the database is broken", not "the statement was wrong". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_ACCESS_DENIED_ERROR',
  'HANDSHAKE_NO_SSL_SUPPORT',
]);
// Not ER_QUERY_INTERRUPTED (1317): KILL QUERY ends the statement and leaves its connection open and
// usable (see isQueryInterrupted). Counting it as a broken link would close a good connection and send
// a cancelled read a second time.

export function driverErrorCode(error: unknown): string {
  const code = (error as DriverError | undefined)?.code;
  // MySQL's codes (ER_*) and the driver's/OS's form a fixed vocabulary; anything else is folded so
  // the `code` metric label stays bounded.
  if (
    typeof code === 'string' &&
    /^(ER_[A-Z0-9_]+|PROTOCOL_[A-Z_]+|E[A-Z]+|QUERY_TIMEOUT|HANDSHAKE_[A-Z_]+)$/.test(code)
  ) {
    return code;
  }
  // A server error mysql2 has no name for (MariaDB-only numbers such as 1969) keeps its number.
  const errno = (error as DriverError | undefined)?.errno;
  if (typeof errno === 'number' && Number.isInteger(errno) && errno > 0 && errno < 100_000) return `ERRNO_${errno}`;
  return 'other';
}

/** True when the error says the connection (or the proxy or server behind it) is gone. */
export function isConnectionError(error: unknown): boolean {
  const e = error as DriverError | undefined;
  if (e?.fatal === true) return true;
  return typeof e?.code === 'string' && CONNECTION_CODES.has(e.code);
}

/**
 * The statement was stopped by KILL QUERY (1317): the worker's own cancellation (client gone, backstop,
 * shutdown) or an operator's. The server rolled the statement back; its connection is fine.
 */
export function isQueryInterrupted(error: unknown): boolean {
  return (error as DriverError | undefined)?.errno === 1317;
}

/**
 * A row lock conflict: InnoDB gave up waiting for a row lock (1205), or chose this transaction as a
 * deadlock victim, or Galera aborted it for a conflicting write on another node (1213). Not the 1205
 * that Galera raises when a statement's causal wait fails (see isSyncWaitFailure): no row was locked.
 */
export function isLockConflict(error: unknown): boolean {
  const errno = (error as DriverError | undefined)?.errno;
  return errno === 1213 || (errno === 1205 && !isSyncWaitFailure(error));
}

// The statement an error came from, kept beside it (not enumerable, so a logged error does not print
// it): what tells Galera's failed causal wait from a row lock, which end in the same 1205.
const STATEMENT = Symbol('statement');

/** Remembers that `error` was the answer to `sql` (the db layer calls this for every statement). */
export function withStatement<E>(error: E, sql: string): E {
  if (typeof error === 'object' && error !== null && !(STATEMENT in error)) {
    Object.defineProperty(error, STATEMENT, { value: sql, enumerable: false });
  }
  return error;
}

/** Statements that take row locks and so may wait for one: writes, and reads FOR UPDATE or in share mode. */
export function takesRowLocks(sql: string): boolean {
  // MariaDB's per-statement settings prefix (SET STATEMENT innodb_lock_wait_timeout=0 FOR INSERT ...).
  const statement = sql.replace(/^\s*SET\s+STATEMENT\s+[\s\S]*?\s+FOR\s+/i, '');
  return (
    /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(statement) ||
    /\b(FOR\s+UPDATE|FOR\s+SHARE|LOCK\s+IN\s+SHARE\s+MODE)\b/i.test(statement)
  );
}

/**
 * With wsrep_sync_wait, a Galera node first waits until it has applied everything the cluster committed
 * before a read; when that fails (the node lost the other nodes, or the wait timed out) MariaDB answers
 * ER_LOCK_WAIT_TIMEOUT (1205, "Lock wait timeout exceeded"), the same as a row lock wait (wsrep-lib's
 * e_timeout_error; MariaDB's wsrep_sync_wait(): "the above msg won't be displayed"). A statement that
 * takes no row lock (a plain SELECT, START TRANSACTION) cannot have waited for one, so its 1205 is that.
 * A locking read's 1205 stays a lock conflict: the two cannot be told apart there.
 */
export function isSyncWaitFailure(error: unknown): boolean {
  const e = error as (DriverError & { [STATEMENT]?: unknown }) | undefined;
  return e?.errno === 1205 && typeof e[STATEMENT] === 'string' && !takesRowLocks(e[STATEMENT]);
}

/**
 * Galera refusing the statement for as long as the node is not serving, without changing anything:
 * 1047 (WSREP has not yet prepared node for application use: leaving, joining, or not in the Primary
 * component), 1180 (ER_ERROR_DURING_COMMIT: replicating the write set failed, so the transaction was
 * rolled back; MariaDB words every such failure "Error while appending streaming replication fragment",
 * streaming or not), and a failed causal wait (isSyncWaitFailure).
 */
export function isClusterRefusal(error: unknown): boolean {
  const errno = (error as DriverError | undefined)?.errno;
  return errno === 1047 || errno === 1180 || isSyncWaitFailure(error);
}
